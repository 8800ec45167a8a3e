//! All-or-nothing result sets: the manifest a commit writes last, and the readers' check.
//!
//! One rename cannot swap a set of files inside a directory that also holds other files
//! (a report, shard directories, a sweep beside a run), so a set is made whole by a
//! manifest: `capsim-manifest.json` lists every capsim table of the directory with its
//! size, an FNV-1a 64-bit checksum and its provenance, and a commit writes it last, by
//! one atomic rename. Until then it still describes the previous set; the previous
//! versions of the tables being replaced are kept, as hard links, in
//! `.capsim-previous/`. So at every moment a reader finds, for each listed table,
//! either the file in place or its previous version matching the manifest: the old set
//! until the manifest's rename, the new set after it, byte for byte, wherever a kill
//! lands. A commit cut short is finished by the next one (which keeps the previous
//! versions it finds instead of taking new links of a half-replaced set).
//!
//! Tables of one *family* are replaced together: a run's eight tables are one set (a
//! run without a second system leaves no `savings.parquet` of an earlier run behind),
//! while a sweep, a sensitivity analysis, a Sobol analysis and a comparison each own
//! theirs, so a sweep written beside a run leaves the run's tables listed.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::spool::TABLE_ORDER;
use super::{OutputError, Provenance, io};

/// The manifest's file name.
pub const MANIFEST: &str = "capsim-manifest.json";
/// The directory holding the previous versions of tables while a commit replaces them.
const PREVIOUS: &str = ".capsim-previous";
/// The manifest format this capsim writes and reads.
const FORMAT: u32 = 1;
/// The tables a run (or a merge) writes, the first of [`TABLE_ORDER`]: replaced as one
/// set. (Every name in `TABLE_ORDER` is a table capsim writes; a file of one of those
/// names that the manifest does not list is not part of any set.)
const RUN_FAMILY: &[&str] = TABLE_ORDER.split_at(13).0;

/// One table of a set.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Listed {
    file: String,
    bytes: u64,
    fnv1a64: String,
    scenario: String,
    scenario_hash: String,
    seed: u64,
    capsim_version: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Manifest {
    format: u32,
    /// Every table of the directory's sets, in file-name order.
    tables: Vec<Listed>,
}

/// The tables `stems` replace: their whole family.
fn family_of(stems: &[&str]) -> Vec<&'static str> {
    let mut family: Vec<&'static str> = Vec::new();
    for stem in stems {
        if RUN_FAMILY.contains(stem) {
            family.extend(RUN_FAMILY);
        } else if let Some(known) = TABLE_ORDER.iter().find(|k| *k == stem) {
            family.push(known);
        }
    }
    family.sort_unstable();
    family.dedup();
    family
}

fn file_name(stem: &str) -> String {
    format!("{stem}.parquet")
}

/// (size, FNV-1a 64 checksum in hex) of a file.
fn fingerprint(path: &Path) -> std::io::Result<(u64, String)> {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0100_0000_01b3;
    let mut file = std::fs::File::open(path)?;
    let mut buffer = vec![0_u8; 1 << 16];
    let (mut hash, mut bytes) = (OFFSET, 0_u64);
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        bytes += read as u64;
        for &byte in &buffer[..read] {
            hash = (hash ^ u64::from(byte)).wrapping_mul(PRIME);
        }
    }
    Ok((bytes, format!("{hash:016x}")))
}

/// Why `path` is not the listed table, if it is not.
fn differs(path: &Path, listed: &Listed) -> Option<String> {
    match fingerprint(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some("it is missing".into()),
        Err(e) => Some(format!("it cannot be read ({e})")),
        Ok((bytes, _)) if bytes != listed.bytes => Some(format!(
            "it has {bytes} bytes where the manifest lists {}",
            listed.bytes
        )),
        Ok((_, hash)) if hash != listed.fnv1a64 => Some(format!(
            "its checksum is {hash} where the manifest lists {}",
            listed.fnv1a64
        )),
        Ok(_) => None,
    }
}

/// Where the listed table is whole: in place, or (while a commit replaces it) its
/// previous version; else why not, as found in place.
fn locate(dir: &Path, listed: &Listed) -> Result<PathBuf, String> {
    let in_place = dir.join(&listed.file);
    match differs(&in_place, listed) {
        None => Ok(in_place),
        Some(why) => {
            let kept = dir.join(PREVIOUS).join(&listed.file);
            if differs(&kept, listed).is_none() {
                Ok(kept)
            } else {
                Err(why)
            }
        }
    }
}

/// Writes `manifest` to `staged` (a file in the staging directory, renamed in later).
fn write_manifest(manifest: &Manifest, staged: &Path) -> Result<(), OutputError> {
    let text = serde_json::to_string_pretty(manifest).expect("a manifest serializes");
    std::fs::write(staged, text + "\n").map_err(io("write", staged))
}

/// The manifest of `dir`, if it has one.
fn read_manifest(dir: &Path) -> Result<Option<Manifest>, OutputError> {
    let path = dir.join(MANIFEST);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("read", &path)(e)),
    };
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| OutputError::Incomplete {
        dir: dir.display().to_string(),
        detail: format!(
            "its {MANIFEST} is not one capsim wrote ({e}); capsim will not write over a set it cannot read, so remove that file (the tables beside it are then unlisted) or write elsewhere with --out"
        ),
    })?;
    if manifest.format != FORMAT {
        return Err(OutputError::Incomplete {
            dir: dir.display().to_string(),
            detail: format!(
                "its {MANIFEST} has format {} (this capsim reads {FORMAT}): use the capsim that wrote it, or write elsewhere with --out",
                manifest.format
            ),
        });
    }
    Ok(Some(manifest))
}

/// Whether `dir`'s manifest, if it has one, can be read (so a commit can replace its set).
pub(super) fn check_readable(dir: &Path) -> Result<(), OutputError> {
    read_manifest(dir).map(|_| ())
}

/// The complete tables of a result directory, checked against its manifest: where to
/// read each one (in place, or its previous version while a commit replaces it).
#[derive(Debug, Clone)]
pub struct TableSet {
    dir: PathBuf,
    paths: BTreeMap<String, PathBuf>,
}

impl TableSet {
    /// Checks `dir` against its manifest.
    ///
    /// # Errors
    /// [`OutputError::Incomplete`] when `dir` holds capsim tables but no manifest (a
    /// set cut short, or one written before manifests); [`OutputError::Mismatch`] when a
    /// listed table is missing or differs from its listing in size or checksum.
    pub fn open(dir: &Path) -> Result<TableSet, OutputError> {
        // A commit that finishes while this reads swaps the manifest and removes the
        // previous versions between two looks; a second reading sees the new set.
        Self::open_once(dir).or_else(|e| match e {
            OutputError::Mismatch { .. } => Self::open_once(dir),
            other => Err(other),
        })
    }

    fn open_once(dir: &Path) -> Result<TableSet, OutputError> {
        let Some(manifest) = read_manifest(dir)? else {
            if let Some(stem) = TABLE_ORDER
                .iter()
                .find(|s| dir.join(file_name(s)).is_file())
            {
                return Err(OutputError::Incomplete {
                    dir: dir.display().to_string(),
                    detail: format!(
                        "it holds {stem}.parquet but no {MANIFEST}, which capsim writes last: the set was cut short by a run that was stopped, or written by a capsim without manifests"
                    ),
                });
            }
            return Ok(TableSet {
                dir: dir.to_path_buf(),
                paths: BTreeMap::new(),
            });
        };
        let mut paths = BTreeMap::new();
        for listed in &manifest.tables {
            let found = locate(dir, listed).map_err(|why| OutputError::Mismatch {
                path: dir.join(&listed.file).display().to_string(),
                detail: why,
            })?;
            let stem = listed.file.trim_end_matches(".parquet").to_string();
            paths.insert(stem, found);
        }
        Ok(TableSet {
            dir: dir.to_path_buf(),
            paths,
        })
    }

    /// Where to read table `stem`, if the set has it.
    pub fn get(&self, stem: &str) -> Option<&Path> {
        self.paths.get(stem).map(PathBuf::as_path)
    }

    /// The directory the set was read from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Whether a commit should stop dead after its step `step` (tests only: the kill test
/// sets `CAPSIM_TEST_KILL_AT_COMMIT_STEP`, and the process aborts as a SIGKILL would
/// stop it, without cleaning up).
fn kill_point(step: u32) {
    if std::env::var("CAPSIM_TEST_KILL_AT_COMMIT_STEP").is_ok_and(|v| v == step.to_string()) {
        std::process::abort();
    }
}

/// Moves the tables `stems` staged in `staging` into `dir` as one set (see the module
/// documentation for the steps), and returns their final paths in `stems` order.
pub(super) fn commit(
    staging: &Path,
    dir: &Path,
    stems: &[&'static str],
    provenance: &Provenance,
) -> Result<Vec<PathBuf>, OutputError> {
    let mut step = 0;
    let mut next = || {
        step += 1;
        kill_point(step);
    };
    std::fs::create_dir_all(dir).map_err(io("create", dir))?;
    let old = read_manifest(dir)?;
    let family = family_of(stems);
    let in_family = |t: &Listed| family.iter().any(|s| file_name(s) == t.file);
    let previous = dir.join(PREVIOUS);
    // Each table of the old set that is still whole, and where (one checksum pass).
    let whole: Vec<(&Listed, PathBuf)> = old
        .iter()
        .flat_map(|m| m.tables.iter())
        .filter_map(|t| locate(dir, t).ok().map(|at| (t, at)))
        .collect();
    // 1. The new manifest, staged: the other families' tables as listed (those still
    //    whole: a table the user deleted is dropped, not listed for ever as missing),
    //    these as staged.
    let mut tables: Vec<Listed> = whole
        .iter()
        .filter(|(t, _)| !in_family(t))
        .map(|(t, _)| (*t).clone())
        .collect();
    for stem in stems {
        let name = file_name(stem);
        let (bytes, fnv1a64) =
            fingerprint(&staging.join(&name)).map_err(io("read", &staging.join(&name)))?;
        tables.push(Listed {
            file: name,
            bytes,
            fnv1a64,
            scenario: provenance.scenario.clone(),
            scenario_hash: provenance.scenario_hash.clone(),
            seed: provenance.seed,
            capsim_version: provenance.capsim_version.clone(),
        });
    }
    tables.sort_by(|a, b| a.file.cmp(&b.file));
    let manifest = Manifest {
        format: FORMAT,
        tables,
    };
    let staged_manifest = staging.join(MANIFEST);
    write_manifest(&manifest, &staged_manifest)?;
    next();
    // 2. A commit cut short is first undone: its tables give way to the previous
    //    versions it kept. Then the previous versions of the tables this one replaces.
    //    A directory without a manifest gets an empty one first, so that a kill
    //    before the last step leaves an empty set, not unlisted tables.
    if let Some(old) = &old {
        roll_back(dir, old, &whole, &family)?;
        next();
        // Every whole table is in place now.
        remove_dir_if_any(&previous)?;
        std::fs::create_dir_all(&previous).map_err(io("create", &previous))?;
        for (t, _) in whole.iter().filter(|(t, _)| in_family(t)) {
            keep_previous(&dir.join(&t.file), &previous.join(&t.file))?;
        }
    } else {
        let empty = Manifest {
            format: FORMAT,
            tables: Vec::new(),
        };
        let staged_empty = staging.join(format!("empty-{MANIFEST}"));
        write_manifest(&empty, &staged_empty)?;
        let target = dir.join(MANIFEST);
        std::fs::rename(&staged_empty, &target).map_err(io("move into place", &target))?;
    }
    next();
    // 3. An old report describes the tables being replaced.
    let report = dir.join("report.html");
    if report.exists() {
        std::fs::remove_file(&report).map_err(io("remove the outdated", &report))?;
    }
    next();
    // 4. The new tables, then 5. the family's tables this set does not have.
    let mut finals = Vec::with_capacity(stems.len());
    for stem in stems {
        let name = file_name(stem);
        let target = dir.join(&name);
        std::fs::rename(staging.join(&name), &target).map_err(io("move into place", &target))?;
        finals.push(target);
        next();
    }
    for stem in family.iter().filter(|s| !stems.contains(s)) {
        let stale = dir.join(file_name(stem));
        if stale.exists() {
            std::fs::remove_file(&stale).map_err(io("remove the outdated", &stale))?;
            next();
        }
    }
    // 6. The manifest, last: from here on the new set is the directory's.
    let target = dir.join(MANIFEST);
    std::fs::rename(&staged_manifest, &target).map_err(io("move into place", &target))?;
    next();
    // 7. The previous versions are no longer needed. The set is committed whatever
    //    happens here: one left behind is removed by the next commit.
    let _ = remove_dir_if_any(&previous);
    Ok(finals)
}

/// Puts back, from `.capsim-previous/`, each table of `old` that a commit cut short
/// replaced (`whole`: where each whole table of `old` is), and removes the tables of `family` (the one being committed) it added: the
/// listed tables match `old` again. Each table is put back by one rename over it, and
/// the previous versions stay until a later step removes them, so a reader finds the old
/// set throughout. Unlisted tables of other families stay where they are: readers ignore
/// them, and a file capsim did not list (one an older capsim wrote) is not removed
/// unless its own family is replaced.
fn roll_back(
    dir: &Path,
    old: &Manifest,
    whole: &[(&Listed, PathBuf)],
    family: &[&str],
) -> Result<(), OutputError> {
    for (t, at) in whole {
        let place = dir.join(&t.file);
        if *at != place {
            let restoring = dir.join(format!(".{}.capsim-restore", t.file));
            let _ = std::fs::remove_file(&restoring);
            keep_previous(at, &restoring)?;
            std::fs::rename(&restoring, &place).map_err(io("restore", &place))?;
        }
    }
    for stem in family {
        let name = file_name(stem);
        let place = dir.join(&name);
        if !old.tables.iter().any(|t| t.file == name) && place.is_file() {
            std::fs::remove_file(&place).map_err(io("remove the unfinished", &place))?;
        }
    }
    Ok(())
}

fn remove_dir_if_any(path: &Path) -> Result<(), OutputError> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io("remove", path)(e)),
        _ => Ok(()),
    }
}

/// A second name for `from` at `to` (a hard link: no copy), or a copy where the file
/// system has no hard links.
fn keep_previous(from: &Path, to: &Path) -> Result<(), OutputError> {
    match std::fs::hard_link(from, to) {
        Ok(()) => Ok(()),
        // Never copy onto an existing name: it may be a link to `from` itself.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(io("keep the previous version of", from)(e))
        }
        Err(_) => std::fs::copy(from, to)
            .map(|_| ())
            .map_err(io("keep the previous version of", from)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// FNV-1a 64 of the empty input and of "a" (the published test vectors).
    #[test]
    fn the_checksum_is_fnv1a_64() {
        let dir = std::env::temp_dir().join(format!("capsim-fnv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("empty"), b"").unwrap();
        std::fs::write(dir.join("a"), b"a").unwrap();
        assert_eq!(
            fingerprint(&dir.join("empty")).unwrap(),
            (0, "cbf29ce484222325".into())
        );
        assert_eq!(
            fingerprint(&dir.join("a")).unwrap(),
            (1, "af63dc4c8601ec8c".into())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_run_table_replaces_the_whole_run_family_and_nothing_else() {
        assert_eq!(family_of(&["runs"]).len(), RUN_FAMILY.len());
        assert_eq!(family_of(&["sweep"]), vec!["sweep"]);
        assert!(!family_of(&["summary", "weeks"]).contains(&"sweep"));
    }
}
