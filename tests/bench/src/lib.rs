//! Shared pieces of the benchmark programs that `cargo xtask bench` runs.
//!
//! Every program prints one JSON object as the last line of its standard output;
//! `xtask` collects those objects and writes the report. Resource figures come from
//! `/proc/self` (Linux), so they cover every thread of the process.

#![warn(missing_docs)]

use std::time::Duration;

use anyhow::{bail, Context, Result};

/// Clock ticks per second of `/proc/<pid>/stat` times (`USER_HZ`, 100 on Linux).
const USER_HZ: u64 = 100;

/// CPU time (user + system) used so far by this process, all threads, with a
/// resolution of 10 ms. Zero where `/proc` is not available.
pub fn cpu_time() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the parenthesised command name; utime and stime are fields 14
    // and 15 of the whole line, i.e. 12 and 13 after the name.
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> u64 { fields.get(i).and_then(|f| f.parse().ok()).unwrap_or(0) };
    let total = ticks(11) + ticks(12);
    Duration::from_millis(total * 1000 / USER_HZ)
}

/// Peak resident set size of this process so far, in KiB (`VmHWM`). Zero where
/// `/proc` is not available.
pub fn peak_rss_kib() -> u64 {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return 0;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Minimal `--name value` argument access for the benchmark programs.
#[derive(Debug)]
pub struct Args {
    args: Vec<String>,
}

impl Args {
    /// The process arguments, without the program name.
    pub fn from_env() -> Self {
        Self {
            args: std::env::args().skip(1).collect(),
        }
    }

    /// The value after `--name`, if given.
    pub fn opt(&self, name: &str) -> Option<&str> {
        let flag = format!("--{name}");
        self.args
            .iter()
            .position(|a| *a == flag)
            .and_then(|i| self.args.get(i + 1))
            .map(String::as_str)
    }

    /// The value after `--name`; an error when missing.
    pub fn req(&self, name: &str) -> Result<&str> {
        match self.opt(name) {
            Some(v) => Ok(v),
            None => bail!("missing --{name}"),
        }
    }

    /// The value after `--name` parsed, or `default` when missing.
    pub fn num<T>(&self, name: &str, default: T) -> Result<T>
    where
        T: std::str::FromStr,
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        match self.opt(name) {
            Some(v) => v.parse().with_context(|| format!("--{name} {v}")),
            None => Ok(default),
        }
    }

    /// The first argument that is not a flag or a flag's value (the mode).
    pub fn mode(&self) -> Option<&str> {
        let mut skip = false;
        for a in &self.args {
            if skip {
                skip = false;
                continue;
            }
            if a.starts_with("--") {
                skip = true;
                continue;
            }
            return Some(a);
        }
        None
    }
}

/// Prints the result object as one JSON line on standard output.
pub fn emit(value: &serde_json::Value) {
    println!("{value}");
}

/// Canned answers of the loopback server, shared with the benchmark clients so they
/// can check what they received.
pub mod canned {
    /// Path of the small GET (`GET /`, the cluster info answer).
    pub const INFO_PATH: &str = "/";
    /// Path of the search whose answer is about 10 KB.
    pub const SEARCH_PATH: &str = "/bench/_search";

    /// The answer to `GET /`.
    pub fn info() -> Vec<u8> {
        serde_json::json!({
            "name": "bench-node",
            "cluster_name": "bench",
            "cluster_uuid": "Z5wBvQ2bS0eI4b5p4iQy4w",
            "version": {
                "number": "9.5.3",
                "build_flavor": "default",
                "build_type": "tar",
                "build_hash": "0000000000000000000000000000000000000000",
                "build_date": "2026-01-01T00:00:00.000000000Z",
                "build_snapshot": false,
                "lucene_version": "10.3.0",
                "minimum_wire_compatibility_version": "8.19.0",
                "minimum_index_compatibility_version": "8.0.0"
            },
            "tagline": "You Know, for Search"
        })
        .to_string()
        .into_bytes()
    }

    /// A search answer of `hits` flight-like documents (`delay`, `distance`, `time`).
    pub fn search(hits: usize) -> Vec<u8> {
        let docs: Vec<serde_json::Value> = (0..hits)
            .map(|i| {
                serde_json::json!({
                    "_index": "flights",
                    "_id": format!("flight-{i}"),
                    "_score": 1.0,
                    "_source": {
                        "delay": (i * 37 % 400) as i64 - 20,
                        "distance": 200 + (i * 7919 % 2500) as i64,
                        "time": (i % 24) as f64 + 0.25
                    }
                })
            })
            .collect();
        serde_json::json!({
            "took": 3,
            "timed_out": false,
            "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
            "hits": {
                "total": {"value": hits, "relation": "eq"},
                "max_score": 1.0,
                "hits": docs
            }
        })
        .to_string()
        .into_bytes()
    }

    /// The number of hits that makes [`search`] about 10 KB.
    pub const SEARCH_10KB_HITS: usize = 105;
}

/// A flight of the `vega-datasets` flights sets: the typed document of the decode
/// and search benchmarks.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Flight {
    /// Departure delay in minutes.
    pub delay: i64,
    /// Distance in miles.
    pub distance: i64,
    /// Departure time of day, in hours.
    pub time: f64,
}

/// The median of some samples (the mean of the middle two for an even count).
pub fn median(samples: &[f64]) -> f64 {
    if samples.is_empty() {
        return f64::NAN;
    }
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}
