//! Writing a run's raw tables as its replications finish, and reading them back in
//! pieces.
//!
//! A run of 10,000 replications never holds its records: each table keeps at most one
//! block of [`REPLICATIONS_PER_ROW_GROUP`] replications before writing it as a Parquet row
//! group into the staging directory, and the summaries read the staged tables back one
//! row group at a time. Blocks are counted from the run's first replication, so a run
//! and a merge of its shards cut the same row groups and write the same bytes.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use polars::prelude::*;

use super::{
    MANIFEST, OutputError, Provenance, io, raw_frame, read_records, remove_abandoned_staging,
    staging_dir,
};
use crate::results::{REPLICATIONS_PER_ROW_GROUP, RawSource, RawTable, Results};

/// The tables capsim writes, in the order they are listed; the first twelve are a run's
/// (replaced together, `manifest::RUN_FAMILY`).
pub const TABLE_ORDER: [&str; 17] = [
    "runs",
    "summary",
    "timeseries",
    "savings",
    "yields",
    "returns",
    "yields_summary",
    "weeks",
    "segments",
    "segments_summary",
    "providers",
    "providers_summary",
    "groups",
    "sweep",
    "sensitivity",
    "sobol",
    "compare",
];

/// A staging directory beside the output, removed when dropped: files reach the output
/// only by [`Staged::commit`].
struct Staging {
    target: PathBuf,
    path: PathBuf,
}

impl Drop for Staging {
    fn drop(&mut self) {
        // Best effort: empty after a commit, disposable after a failure.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// One raw table being written block by block.
struct TableWriter {
    table: RawTable,
    /// Rows of the current block (only this table's vector is used).
    pending: Results,
    /// The current block's index from the run's first replication.
    block: Option<u64>,
    writer: Option<TableSink>,
}

/// A table file that remembers the OS error of a failed write. polars' Parquet writer may
/// report a write that failed part-way through its footer as a bare "transport error",
/// losing the cause; the cause (a full disk above all) is what the user can act on.
struct TableFile {
    file: File,
    /// The raw OS error of the last failed write; 0 while none has failed.
    os_error: Arc<AtomicI32>,
}

impl Write for TableFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf).inspect_err(|e| self.record(e))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush().inspect_err(|e| self.record(e))
    }
}

impl TableFile {
    fn create(path: &Path) -> Result<(TableFile, Arc<AtomicI32>), OutputError> {
        let file = File::create(path).map_err(io("create", path))?;
        let os_error = Arc::new(AtomicI32::new(0));
        Ok((
            TableFile {
                file,
                os_error: Arc::clone(&os_error),
            },
            os_error,
        ))
    }

    fn record(&self, error: &std::io::Error) {
        // An interrupted write is retried by the writer; it is not the cause of anything.
        if matches!(
            error.kind(),
            std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock
        ) {
            return;
        }
        if let Some(code) = error.raw_os_error() {
            self.os_error.store(code, Ordering::Relaxed);
        }
    }
}

/// A batched Parquet writer and the OS error its file saw, if any.
struct TableSink {
    writer: BatchedWriter<TableFile>,
    os_error: Arc<AtomicI32>,
}

/// polars' error for `table`, or, when the file under it saw one, the OS error itself.
fn table_error(table: &str, os_error: &AtomicI32, source: PolarsError) -> OutputError {
    match os_error.load(Ordering::Relaxed) {
        0 => OutputError::Table {
            table: table.to_string(),
            source,
        },
        code => OutputError::Io {
            action: "write table",
            path: table.to_string(),
            source: std::io::Error::from_raw_os_error(code),
        },
    }
}

impl TableWriter {
    fn new(table: RawTable) -> TableWriter {
        TableWriter {
            table,
            pending: Results::default(),
            block: None,
            writer: None,
        }
    }

    fn push(
        &mut self,
        piece: &Results,
        staging: &Path,
        provenance: &Provenance,
    ) -> Result<(), OutputError> {
        match self.table {
            RawTable::Runs => self.push_rows(
                &piece.runs,
                |r| r.replication,
                |p| &mut p.runs,
                staging,
                provenance,
            ),
            RawTable::Weeks => self.push_rows(
                &piece.weeks,
                |r| r.replication,
                |p| &mut p.weeks,
                staging,
                provenance,
            ),
            RawTable::Years => self.push_rows(
                &piece.years,
                |r| r.replication,
                |p| &mut p.years,
                staging,
                provenance,
            ),
            RawTable::Returns => self.push_rows(
                &piece.returns,
                |r| r.replication,
                |p| &mut p.returns,
                staging,
                provenance,
            ),
            RawTable::Segments => self.push_rows(
                &piece.segments,
                |r| r.replication,
                |p| &mut p.segments,
                staging,
                provenance,
            ),
            RawTable::Providers => self.push_rows(
                &piece.providers,
                |r| r.replication,
                |p| &mut p.providers,
                staging,
                provenance,
            ),
            RawTable::Groups => self.push_rows(
                &piece.groups,
                |r| r.replication,
                |p| &mut p.groups,
                staging,
                provenance,
            ),
        }
    }

    fn push_rows<T: Clone>(
        &mut self,
        rows: &[T],
        replication: fn(&T) -> u64,
        pending: fn(&mut Results) -> &mut Vec<T>,
        staging: &Path,
        provenance: &Provenance,
    ) -> Result<(), OutputError> {
        for row in rows {
            let block = replication(row).saturating_sub(provenance.replications.0)
                / REPLICATIONS_PER_ROW_GROUP;
            if self.block != Some(block) {
                self.flush(staging, provenance)?;
                self.block = Some(block);
            }
            pending(&mut self.pending).push(row.clone());
        }
        Ok(())
    }

    /// Writes the pending block as one row group (creating the file with the first).
    fn flush(&mut self, staging: &Path, provenance: &Provenance) -> Result<(), OutputError> {
        let pending = std::mem::take(&mut self.pending);
        let empty = match self.table {
            RawTable::Runs => pending.runs.is_empty(),
            RawTable::Weeks => pending.weeks.is_empty(),
            RawTable::Years => pending.years.is_empty(),
            RawTable::Returns => pending.returns.is_empty(),
            RawTable::Segments => pending.segments.is_empty(),
            RawTable::Providers => pending.providers.is_empty(),
            RawTable::Groups => pending.groups.is_empty(),
        };
        if empty {
            return Ok(());
        }
        let stem = self.table.stem();
        let failed = |source| OutputError::Table {
            table: stem.to_string(),
            source,
        };
        let mut frame = raw_frame(self.table, &pending, provenance).map_err(failed)?;
        frame.rechunk_mut();
        if self.writer.is_none() {
            self.writer = Some(batched_writer(
                &staging.join(format!("{stem}.parquet")),
                frame.schema(),
                provenance,
            )?);
        }
        if let Some(sink) = &mut self.writer {
            sink.writer
                .write_batch(&frame)
                .map_err(|source| table_error(stem, &sink.os_error, source))?;
        }
        Ok(())
    }

    /// Writes the last block and the footer; a table that never had a row is written empty.
    fn close(mut self, staging: &Path, provenance: &Provenance) -> Result<(), OutputError> {
        self.flush(staging, provenance)?;
        let stem = self.table.stem();
        let failed = |source| OutputError::Table {
            table: stem.to_string(),
            source,
        };
        match self.writer {
            Some(sink) => sink
                .writer
                .finish()
                .map(|_| ())
                .map_err(|source| table_error(stem, &sink.os_error, source)),
            None => {
                let mut frame =
                    raw_frame(self.table, &Results::default(), provenance).map_err(failed)?;
                write_file(
                    &staging.join(format!("{stem}.parquet")),
                    &mut frame,
                    provenance,
                    stem,
                )
            }
        }
    }
}

/// The Parquet key-value metadata that records a table's provenance.
fn metadata(provenance: &Provenance) -> KeyValueMetadata {
    let mut pairs = vec![
        ("capsim.scenario".to_string(), provenance.scenario.clone()),
        (
            "capsim.scenario_hash".to_string(),
            provenance.scenario_hash.clone(),
        ),
        ("capsim.seed".to_string(), provenance.seed.to_string()),
        (
            "capsim.version".to_string(),
            provenance.capsim_version.clone(),
        ),
        (
            "capsim.replications".to_string(),
            format!(
                "{}..{}",
                provenance.replications.0, provenance.replications.1
            ),
        ),
        (
            "capsim.antithetic".to_string(),
            provenance.antithetic.to_string(),
        ),
    ];
    if let Some((shard, shards)) = provenance.shard {
        pairs.push(("capsim.shard".to_string(), format!("{shard}/{shards}")));
    }
    if let Some((a, b)) = &provenance.compare {
        pairs.push(("capsim.compare".to_string(), format!("{a},{b}")));
    }
    KeyValueMetadata::from_static(pairs)
}

fn batched_writer(
    path: &Path,
    schema: &Schema,
    provenance: &Provenance,
) -> Result<TableSink, OutputError> {
    let (file, os_error) = TableFile::create(path)?;
    let writer = ParquetWriter::new(file)
        .with_key_value_metadata(Some(metadata(provenance)))
        .batched(schema)
        .map_err(|source| table_error(&path.display().to_string(), &os_error, source))?;
    Ok(TableSink { writer, os_error })
}

/// Writes a whole frame as one file.
fn write_file(
    path: &Path,
    frame: &mut DataFrame,
    provenance: &Provenance,
    stem: &str,
) -> Result<(), OutputError> {
    let (file, os_error) = TableFile::create(path)?;
    ParquetWriter::new(file)
        .with_key_value_metadata(Some(metadata(provenance)))
        .finish(frame)
        .map(|_| ())
        .map_err(|source| table_error(stem, &os_error, source))
}

/// Writes whole tables (file stem, frame) into `dir`, all or nothing: staged beside it
/// and moved into place together.
///
/// # Errors
/// [`OutputError`] if any table cannot be written; `dir` is then untouched.
pub fn write_tables(
    dir: &Path,
    tables: Vec<(&'static str, DataFrame)>,
    provenance: &Provenance,
) -> Result<Vec<PathBuf>, OutputError> {
    remove_abandoned_staging(dir);
    let path = staging_dir(dir);
    std::fs::create_dir_all(&path).map_err(io("create", &path))?;
    let mut staged = Staged {
        staging: Staging {
            target: dir.to_path_buf(),
            path,
        },
        provenance: provenance.clone(),
        files: Vec::new(),
    };
    for (stem, mut frame) in tables {
        staged.write(stem, &mut frame)?;
    }
    staged.commit()
}

/// The raw tables of a run being written into a staging directory beside its output.
pub struct Spool {
    staging: Staging,
    /// What the files' metadata says (the run's range may still grow: see [`Spool::finish`]).
    provenance: Provenance,
    tables: Vec<TableWriter>,
}

impl Spool {
    /// Starts writing the raw tables of a run that will be committed to `dir`.
    ///
    /// # Errors
    /// [`OutputError::Io`] if the staging directory cannot be created.
    pub fn create(dir: &Path, provenance: &Provenance) -> Result<Spool, OutputError> {
        remove_abandoned_staging(dir);
        let path = staging_dir(dir);
        std::fs::create_dir_all(&path).map_err(io("create", &path))?;
        let staging = Staging {
            target: dir.to_path_buf(),
            path,
        };
        Ok(Spool {
            staging,
            provenance: provenance.clone(),
            tables: RawTable::ALL.map(TableWriter::new).into(),
        })
    }

    /// Where the results will be committed.
    pub fn target(&self) -> &Path {
        &self.staging.target
    }

    /// Adds records of later replications (in replication order, after any pushed before).
    ///
    /// # Errors
    /// [`OutputError`] if a block cannot be written.
    pub fn push(&mut self, piece: &Results) -> Result<(), OutputError> {
        for writer in &mut self.tables {
            writer.push(piece, &self.staging.path, &self.provenance)?;
        }
        Ok(())
    }

    /// Finishes the raw tables. `provenance` is the run's final one: when `--target-ci`
    /// added replications after the files were started, they are rewritten (row group by
    /// row group) with the final range in their metadata.
    ///
    /// # Errors
    /// [`OutputError`] if a file cannot be finished or rewritten.
    pub fn finish(self, provenance: &Provenance) -> Result<Staged, OutputError> {
        let Spool {
            staging,
            provenance: started,
            tables,
        } = self;
        for writer in tables {
            writer.close(&staging.path, &started)?;
        }
        if *provenance != started {
            for table in RawTable::ALL {
                restamp(
                    &staging.path.join(format!("{}.parquet", table.stem())),
                    provenance,
                )?;
            }
        }
        let files = RawTable::ALL.iter().map(|t| t.stem()).collect();
        Ok(Staged {
            staging,
            provenance: provenance.clone(),
            files,
        })
    }
}

/// Rewrites a staged file with `provenance` in its metadata, row group by row group.
fn restamp(path: &Path, provenance: &Provenance) -> Result<(), OutputError> {
    let fresh = path.with_extension("parquet.restamped");
    let table = path.display().to_string();
    let mut writer: Option<TableSink> = None;
    for_each_row_group(path, &mut |mut frame| {
        frame.rechunk_mut();
        if writer.is_none() {
            writer = Some(batched_writer(&fresh, frame.schema(), provenance)?);
        }
        match &mut writer {
            Some(sink) => sink
                .writer
                .write_batch(&frame)
                .map_err(|source| table_error(&table, &sink.os_error, source)),
            None => Ok(()),
        }
    })?;
    match writer {
        Some(sink) => sink
            .writer
            .finish()
            .map(|_| ())
            .map_err(|source| table_error(&table, &sink.os_error, source))?,
        None => {
            let mut frame = super::read_table(path)?;
            write_file(&fresh, &mut frame, provenance, &table)?;
        }
    }
    std::fs::rename(&fresh, path).map_err(io("replace", path))
}

/// Calls `each` with every row group of a Parquet file, in order, as a frame.
fn for_each_row_group(
    path: &Path,
    each: &mut dyn FnMut(DataFrame) -> Result<(), OutputError>,
) -> Result<(), OutputError> {
    let table = || path.display().to_string();
    let open = || File::open(path).map_err(io("open", path));
    let mut reader = ParquetReader::new(open()?);
    let metadata = reader
        .get_metadata()
        .map_err(|source| OutputError::Unreadable {
            path: table(),
            source,
        })?
        .clone();
    let mut offset = 0;
    for group in &metadata.row_groups {
        let rows = group.num_rows();
        let mut reader = ParquetReader::new(open()?);
        reader.set_metadata(metadata.clone());
        let frame = reader
            .with_slice(Some((offset, rows)))
            .finish()
            .map_err(|source| OutputError::Unreadable {
                path: table(),
                source,
            })?;
        offset += rows;
        each(frame)?;
    }
    Ok(())
}

/// A directory holding the raw tables of a run or shard, read one row group at a time.
#[derive(Debug, Clone)]
pub struct RawDir {
    path: PathBuf,
    /// Where each table is, for a directory checked against its manifest.
    set: Option<super::TableSet>,
}

impl RawDir {
    /// The raw tables being staged in `path` (no manifest yet).
    fn staged(path: &Path) -> RawDir {
        RawDir {
            path: path.to_path_buf(),
            set: None,
        }
    }

    /// The raw tables of the complete set in `dir`.
    ///
    /// # Errors
    /// [`OutputError::Incomplete`] when `dir`'s tables do not match its manifest.
    pub fn open(dir: &Path) -> Result<RawDir, OutputError> {
        Ok(RawDir {
            path: dir.to_path_buf(),
            set: Some(super::TableSet::open(dir)?),
        })
    }

    /// Where table `stem` is read from: in a staging directory its file, in a set the
    /// file the manifest vouches for (a file of that name it does not list is not read).
    ///
    /// # Errors
    /// [`OutputError::Io`] (not found) when the set does not list the table.
    pub fn table_path(&self, stem: &str) -> Result<PathBuf, OutputError> {
        let file = self.path.join(format!("{stem}.parquet"));
        match &self.set {
            None => Ok(file),
            Some(set) => set
                .get(stem)
                .map(Path::to_path_buf)
                .ok_or_else(|| OutputError::Io {
                    action: "read",
                    path: file.display().to_string(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("not in the set {MANIFEST} lists"),
                    ),
                }),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.path
    }
}

impl RawSource for RawDir {
    type Error = OutputError;

    fn scan(&self, table: RawTable, each: &mut dyn FnMut(&Results)) -> Result<(), OutputError> {
        let path = self.table_path(table.stem())?;
        for_each_row_group(&path, &mut |frame| {
            each(&read_records(table, &frame, &path)?);
            Ok(())
        })
    }
}

/// The finished raw tables of a run in its staging directory, to which the summaries
/// are added before everything is moved into place together.
pub struct Staged {
    staging: Staging,
    provenance: Provenance,
    files: Vec<&'static str>,
}

impl Staged {
    /// The staged raw tables, for computing summaries.
    pub fn raw(&self) -> RawDir {
        RawDir::staged(&self.staging.path)
    }

    /// Stages another table.
    ///
    /// # Errors
    /// [`OutputError`] if it cannot be written.
    pub fn write(&mut self, stem: &'static str, frame: &mut DataFrame) -> Result<(), OutputError> {
        write_file(
            &self.staging.path.join(format!("{stem}.parquet")),
            frame,
            &self.provenance,
            stem,
        )?;
        self.files.push(stem);
        Ok(())
    }

    /// Moves every staged table into the output directory as one set (with its family's
    /// tables it does not have removed, and `capsim-manifest.json` written last: see
    /// `manifest`), and returns their paths in the usual order. A `report.html` there
    /// goes too: it describes the tables being replaced.
    ///
    /// # Errors
    /// [`OutputError::Io`] if the directory cannot be created, a file moved, or an old
    /// report removed; [`OutputError::Incomplete`] if its manifest is not capsim's.
    pub fn commit(mut self) -> Result<Vec<PathBuf>, OutputError> {
        self.files
            .sort_by_key(|stem| TABLE_ORDER.iter().position(|s| s == stem));
        super::manifest::commit(
            &self.staging.path,
            &self.staging.target,
            &self.files,
            &self.provenance,
        )
    }
}
