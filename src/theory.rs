//! Closed forms of queueing theory that the engine must reproduce.
//!
//! Erlang B (M/M/c/c), Erlang C (M/M/c) and Erlang A (M/M/c+M, exponential patience).
//! Everything is computed by recurrences or in log space, so c in the thousands
//! neither overflows nor loses precision. Sources: Gross & Harris, *Fundamentals of
//! Queueing Theory*, §2.3 and §2.5 (Erlang C and B); Mandelbaum & Zeltyn, "The
//! M/M/n+G queue: summary of performance measures" (Erlang A); Kaufman, "Blocking in a
//! shared resource environment", IEEE Trans. Commun. 29 (1981), and Roberts (1981), for
//! the multi-rate loss system of gang jobs.
#![deny(clippy::print_stdout, clippy::print_stderr, clippy::dbg_macro)]

/// Steady-state measures of a queue, per arriving job.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueMeasures {
    /// Mean busy servers ÷ servers.
    pub utilization: f64,
    /// Probability an arrival cannot start at once (for M/M/c/c: blocking).
    pub p_wait: f64,
    /// Mean time in queue over all arrivals (abandoners until they leave), hours.
    pub mean_wait_hours: f64,
    /// Probability an arrival leaves without service.
    pub p_abandon: f64,
}

/// Erlang B blocking probability for `c` servers and offered load `a` = λ/μ.
///
/// Recurrence B(0) = 1, B(k) = a·B(k−1) / (k + a·B(k−1)): stable for any c.
pub fn erlang_b(c: u32, offered_load: f64) -> f64 {
    let mut blocking = 1.0;
    for k in 1..=c {
        blocking = offered_load * blocking / (f64::from(k) + offered_load * blocking);
    }
    blocking
}

/// The multi-rate loss system (Kaufman–Roberts): `capacity` GPUs, job classes of
/// (arrivals per hour, GPUs per job, mean hours); a job starts at once if its GPUs are
/// free and is lost otherwise. The occupancy distribution is q(0) ∝ 1,
/// j·q(j) = Σ_k a_k·b_k·q(j − b_k) (a_k = λ_k × mean, b_k GPUs), insensitive to the
/// holding-time distribution beyond its mean. Returns each class's blocking probability
/// (occupancies above capacity − b_k) and the mean busy GPUs ÷ capacity.
pub fn kaufman_roberts(capacity: u32, classes: &[(f64, u32, f64)]) -> (Vec<f64>, f64) {
    let c = capacity as usize;
    let mut q = vec![0.0; c + 1];
    q[0] = 1.0;
    for j in 1..=c {
        let mut sum = 0.0;
        for &(rate, gpus, mean) in classes {
            let b = gpus as usize;
            if b <= j {
                sum += rate * mean * gpus as f64 * q[j - b];
            }
        }
        q[j] = sum / j as f64;
        // Rescale as we go: the unnormalized terms grow like a^j / j!.
        if q[j] > 1e250 {
            q.iter_mut().take(j + 1).for_each(|v| *v /= 1e250);
        }
    }
    let total: f64 = q.iter().sum();
    q.iter_mut().for_each(|v| *v /= total);
    let blocking = classes
        .iter()
        .map(|&(_, gpus, _)| {
            let first_blocked = (c + 1).saturating_sub(gpus as usize);
            q[first_blocked..].iter().sum()
        })
        .collect();
    let busy: f64 = q.iter().enumerate().map(|(j, p)| j as f64 * p).sum();
    (blocking, busy / capacity as f64)
}

/// M/M/c/c: a job that finds every server busy leaves (patience 0).
pub fn mmcc(c: u32, arrival_rate: f64, service_rate: f64) -> QueueMeasures {
    let a = arrival_rate / service_rate;
    let blocking = erlang_b(c, a);
    QueueMeasures {
        utilization: a * (1.0 - blocking) / f64::from(c),
        p_wait: blocking,
        mean_wait_hours: 0.0,
        p_abandon: blocking,
    }
}

/// M/M/c with infinite patience (Erlang C); requires ρ = λ/(cμ) < 1.
///
/// # Panics
/// If ρ ≥ 1: there is no steady state, and asking for one is a programmer error.
pub fn mmc(c: u32, arrival_rate: f64, service_rate: f64) -> QueueMeasures {
    let servers = f64::from(c);
    let rho = arrival_rate / (servers * service_rate);
    assert!(rho < 1.0, "Erlang C needs rho < 1, got {rho}");
    let blocking = erlang_b(c, arrival_rate / service_rate);
    let p_wait = blocking / (1.0 - rho * (1.0 - blocking));
    QueueMeasures {
        utilization: rho,
        p_wait,
        mean_wait_hours: p_wait / (servers * service_rate - arrival_rate),
        p_abandon: 0.0,
    }
}

/// M/M/c+M (Erlang A) from the closed form with A = Σ_{k≥0} y^k / Π_{i=1..k}(x+i),
/// x = cμ/θ, y = λ/θ, summed in log space.
///
/// # Panics
/// If `patience_rate` is not positive.
pub fn mmc_abandonment(
    c: u32,
    arrival_rate: f64,
    service_rate: f64,
    patience_rate: f64,
) -> QueueMeasures {
    assert!(
        patience_rate > 0.0,
        "Erlang A needs a positive patience rate"
    );
    let servers = f64::from(c);
    let x = servers * service_rate / patience_rate;
    let y = arrival_rate / patience_rate;
    let rho = arrival_rate / (servers * service_rate);
    let log_a = log_sum_terms(x, y);
    let big_a = log_a.exp();
    let blocking = erlang_b(c, arrival_rate / service_rate);
    let p_wait = big_a * blocking / (1.0 + (big_a - 1.0) * blocking);
    let p_abandon_given_wait = 1.0 / (rho * big_a) + 1.0 - 1.0 / rho;
    let p_abandon = p_abandon_given_wait * p_wait;
    QueueMeasures {
        utilization: arrival_rate * (1.0 - p_abandon) / (servers * service_rate),
        p_wait,
        mean_wait_hours: p_abandon / patience_rate,
        p_abandon,
    }
}

/// ln Σ_{k≥0} exp(k ln y − Σ_{i=1..k} ln(x+i)), stopping once terms are past their
/// peak and below 1e-17 of the running total.
fn log_sum_terms(x: f64, y: f64) -> f64 {
    let mut log_term = 0.0;
    let mut log_total: f64 = 0.0;
    let mut k = 0u64;
    loop {
        k += 1;
        log_term += y.ln() - (x + k as f64).ln();
        let larger = log_total.max(log_term);
        log_total = larger + ((log_total - larger).exp() + (log_term - larger).exp()).ln();
        if x + k as f64 > y && log_term < log_total - 40.0 {
            return log_total;
        }
    }
}

/// M/M/c+M solved exactly from its birth–death chain (birth λ, death min(n,c)μ +
/// max(n−c,0)θ), as an independent check on [`mmc_abandonment`]. A job arriving to
/// find n ≥ c in the system is served with probability cμ / (cμ + (n−c+1)θ).
pub fn mmc_abandonment_chain(
    c: u32,
    arrival_rate: f64,
    service_rate: f64,
    patience_rate: f64,
) -> QueueMeasures {
    let servers = f64::from(c);
    let death = |n: u64| {
        (n.min(u64::from(c)) as f64) * service_rate
            + (n.saturating_sub(u64::from(c)) as f64) * patience_rate
    };
    // Unnormalised log probabilities; stop far in the tail.
    let mut log_p = vec![0.0f64];
    let mut n = 0u64;
    loop {
        n += 1;
        let next = log_p[log_p.len() - 1] + arrival_rate.ln() - death(n).ln();
        log_p.push(next);
        let peak = log_p.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if n > u64::from(c) && death(n) > arrival_rate && next < peak - 50.0 {
            break;
        }
    }
    let peak = log_p.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = log_p.iter().map(|l| (l - peak).exp()).collect();
    let total: f64 = weights.iter().sum();
    let (mut p_wait, mut p_abandon, mut busy) = (0.0, 0.0, 0.0);
    for (state, weight) in weights.iter().enumerate() {
        let probability = weight / total;
        let state = state as u64;
        busy += probability * state.min(u64::from(c)) as f64;
        if state >= u64::from(c) {
            p_wait += probability;
            let ahead = (state - u64::from(c) + 1) as f64;
            p_abandon += probability * ahead * patience_rate
                / (servers * service_rate + ahead * patience_rate);
        }
    }
    QueueMeasures {
        utilization: busy / servers,
        p_wait,
        mean_wait_hours: p_abandon / patience_rate,
        p_abandon,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One class of one-GPU jobs is Erlang B; two classes check the recursion by hand:
    /// C = 2, a₁ = 1 (1 GPU), a₂ = 1 (2 GPUs): q ∝ (1, 1, 1.5), so a one-GPU job is
    /// blocked with probability 1.5/3.5, a two-GPU one with 2.5/3.5, and the mean busy
    /// GPUs are (1 + 3)/3.5 of 2.
    #[test]
    fn kaufman_roberts_reduces_to_erlang_b_and_matches_a_hand_calculation() {
        let (blocking, utilization) = kaufman_roberts(20, &[(12.0, 1, 1.0)]);
        assert!((blocking[0] - erlang_b(20, 12.0)).abs() < 1e-12);
        assert!((utilization - mmcc(20, 12.0, 1.0).utilization).abs() < 1e-12);
        let (blocking, utilization) = kaufman_roberts(2, &[(2.0, 1, 0.5), (0.5, 2, 2.0)]);
        assert!((blocking[0] - 1.5 / 3.5).abs() < 1e-12, "{blocking:?}");
        assert!((blocking[1] - 2.5 / 3.5).abs() < 1e-12, "{blocking:?}");
        assert!((utilization - 4.0 / 7.0).abs() < 1e-12, "{utilization}");
        // A large system neither overflows nor loses its normalization.
        let (blocking, utilization) = kaufman_roberts(4000, &[(3000.0, 1, 1.0), (100.0, 8, 1.0)]);
        assert!(
            blocking
                .iter()
                .all(|b| b.is_finite() && (0.0..1.0).contains(b))
        );
        assert!(utilization.is_finite() && utilization < 1.0);
    }

    /// Reference values to 10 digits (shared/notes/queueing-closed-forms.md).
    fn close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() <= 1e-9 * expected.abs().max(1e-3),
            "{actual} vs {expected}"
        );
    }

    #[test]
    fn erlang_c_reference_values() {
        let small = mmc(8, 6.0, 1.0);
        close(small.utilization, 0.75);
        close(small.p_wait, 0.356_981_085_9);
        close(small.mean_wait_hours, 0.178_490_542_9);
        let large = mmc(100, 95.0, 1.0);
        close(large.p_wait, 0.506_456_853_9);
        close(large.mean_wait_hours, 0.101_291_370_8);
    }

    #[test]
    fn erlang_b_reference_values() {
        let loss = mmcc(20, 15.0, 1.0);
        close(loss.p_wait, 0.045_593_215_6);
        close(loss.utilization, 0.715_805_088_3);
    }

    #[test]
    fn erlang_a_reference_values_by_formula_and_by_chain() {
        for measures in [
            mmc_abandonment(50, 48.0, 1.0, 1.0),
            mmc_abandonment_chain(50, 48.0, 1.0, 1.0),
        ] {
            close(measures.utilization, 0.922_159_185_1);
            close(measures.p_wait, 0.405_404_395_0);
            close(measures.mean_wait_hours, 0.039_417_515_5);
            close(measures.p_abandon, 0.039_417_515_5);
        }
        for measures in [
            mmc_abandonment(20, 12.0, 0.5, 0.25),
            mmc_abandonment_chain(20, 12.0, 0.5, 0.25),
        ] {
            close(measures.utilization, 0.986_666_966_7);
            close(measures.p_wait, 0.908_705_727_7);
            close(measures.mean_wait_hours, 0.711_110_110_9);
            close(measures.p_abandon, 0.177_777_527_7);
        }
    }

    #[test]
    fn erlang_b_survives_thousands_of_servers() {
        // At a = c = 5000 blocking ≈ sqrt(2/(πc)) ≈ 0.0113 (Jagerman's asymptotic); the
        // point is that the recurrence neither overflows nor underflows.
        let blocking = erlang_b(5000, 5000.0);
        assert!(blocking > 0.010 && blocking < 0.012, "{blocking}");
    }
}
