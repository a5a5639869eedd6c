//! The results of one run, and their rendering as markdown and JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{json, Value};

/// One contender in one case of a scenario: samples per metric, or why there are none.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub case: String,
    pub contender: String,
    /// `ok`, `missing: …` (the contender could not be installed or started) or
    /// `failed: …` (it ran and failed).
    pub status: String,
    /// Metric name → samples, in the order the metrics are shown.
    pub metrics: Vec<(String, Vec<f64>)>,
    /// Extra facts (versions, counts checked).
    pub notes: Vec<String>,
}

impl Row {
    pub fn new(case: &str, contender: &str) -> Self {
        Self {
            case: case.to_string(),
            contender: contender.to_string(),
            status: "ok".to_string(),
            metrics: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn push(&mut self, metric: &str, value: f64) {
        match self.metrics.iter_mut().find(|(m, _)| m == metric) {
            Some((_, samples)) => samples.push(value),
            None => self.metrics.push((metric.to_string(), vec![value])),
        }
    }

    pub fn fail(&mut self, status: String) {
        // The first failure explains best; later ones repeat it.
        if self.status == "ok" {
            self.status = status;
        }
    }

    pub fn note(&mut self, note: String) {
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    pub fn samples(&self, metric: &str) -> Option<&[f64]> {
        self.metrics
            .iter()
            .find(|(m, _)| m == metric)
            .map(|(_, s)| s.as_slice())
            .filter(|s| !s.is_empty())
    }

    pub fn median(&self, metric: &str) -> Option<f64> {
        self.samples(metric).map(median)
    }
}

/// How the ratio column of a scenario is computed.
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    pub metric: String,
    pub baseline: String,
    /// `true`: baseline ÷ this (e.g. a speed-up from times); `false`: this ÷ baseline.
    pub baseline_over_this: bool,
    pub label: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub id: u32,
    pub title: String,
    pub setup: String,
    pub ratio: Option<Ratio>,
    pub rows: Vec<Row>,
    /// Why the whole scenario did not run, if it did not.
    pub skipped: Option<String>,
}

impl Scenario {
    pub fn new(id: u32, title: &str, setup: String) -> Self {
        Self {
            id,
            title: title.to_string(),
            setup,
            ratio: None,
            rows: Vec::new(),
            skipped: None,
        }
    }

    pub fn row(&mut self, case: &str, contender: &str) -> &mut Row {
        let at = self
            .rows
            .iter()
            .position(|r| r.case == case && r.contender == contender);
        let at = at.unwrap_or_else(|| {
            self.rows.push(Row::new(case, contender));
            self.rows.len() - 1
        });
        &mut self.rows[at]
    }

    pub fn find(&self, case: &str, contender: &str) -> Option<&Row> {
        self.rows
            .iter()
            .find(|r| r.case == case && r.contender == contender && r.status == "ok")
    }

    pub fn ratio_of(&self, row: &Row) -> Option<f64> {
        let ratio = self.ratio.as_ref()?;
        let this = row.median(&ratio.metric)?;
        let base = self
            .find(&row.case, &ratio.baseline)?
            .median(&ratio.metric)?;
        let r = if ratio.baseline_over_this {
            base / this
        } else {
            this / base
        };
        r.is_finite().then_some(r)
    }
}

/// A goal of the issue and whether this run met it.
#[derive(Debug, Clone, Serialize)]
pub struct Goal {
    pub goal: String,
    /// `met`, `not met` or `not measured`.
    pub verdict: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub date: String,
    pub mode: String,
    pub duration_seconds: f64,
    pub machine: BTreeMap<String, String>,
    pub versions: BTreeMap<String, String>,
    pub command: String,
    pub scenarios: Vec<Scenario>,
    pub goals: Vec<Goal>,
}

pub fn median(samples: &[f64]) -> f64 {
    let mut v = samples.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn fmt_num(x: f64) -> String {
    let a = x.abs();
    if !x.is_finite() {
        "–".to_string()
    } else if a >= 1000.0 {
        format!("{x:.0}")
    } else if a >= 100.0 {
        format!("{x:.1}")
    } else if a >= 10.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

fn cell(samples: &[f64]) -> String {
    let med = fmt_num(median(samples));
    if samples.len() < 2 {
        return med;
    }
    let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
    let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{med} ({}–{})", fmt_num(min), fmt_num(max))
}

impl Report {
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let _ = writeln!(md, "# Benchmarks\n");
        let _ = writeln!(
            md,
            "Run of `{}` on {} ({} mode, {:.0} s in all).\n",
            self.command, self.date, self.mode, self.duration_seconds
        );
        let _ = writeln!(md, "Machine: {}.\n", join_map(&self.machine));
        let _ = writeln!(md, "Versions: {}.\n", join_map(&self.versions));
        let _ = writeln!(
            md,
            "Cells are medians with (min–max) over the repetitions; contenders ran \
             interleaved (A B A B …). \"missing\" means the contender could not be installed \
             or started; \"failed\" that it ran and failed.\n"
        );
        let _ = writeln!(md, "## Goals\n");
        let _ = writeln!(md, "| goal | verdict | detail |\n|---|---|---|");
        for g in &self.goals {
            let _ = writeln!(md, "| {} | **{}** | {} |", g.goal, g.verdict, g.detail);
        }
        md.push('\n');
        for s in &self.scenarios {
            let _ = writeln!(md, "## {}. {}\n", s.id, s.title);
            let _ = writeln!(md, "{}\n", s.setup);
            if let Some(why) = &s.skipped {
                let _ = writeln!(md, "Not run: {why}\n");
                continue;
            }
            let mut metrics: Vec<String> = Vec::new();
            for r in &s.rows {
                for (m, _) in &r.metrics {
                    if !metrics.contains(m) {
                        metrics.push(m.clone());
                    }
                }
            }
            let mut header = String::from("| case | contender |");
            let mut rule = String::from("|---|---|");
            for m in &metrics {
                let _ = write!(header, " {m} |");
                rule.push_str("---:|");
            }
            if let Some(r) = &s.ratio {
                let _ = write!(header, " {} |", r.label);
                rule.push_str("---:|");
            }
            header.push_str(" notes |");
            rule.push_str("---|");
            let _ = writeln!(md, "{header}\n{rule}");
            for r in &s.rows {
                let mut line = format!("| {} | {} |", r.case, r.contender);
                if r.status != "ok" {
                    for _ in &metrics {
                        line.push_str(" – |");
                    }
                    if s.ratio.is_some() {
                        line.push_str(" – |");
                    }
                    let _ = writeln!(md, "{line} {} |", escape(&r.status));
                    continue;
                }
                for m in &metrics {
                    match r.samples(m) {
                        Some(samples) => {
                            let _ = write!(line, " {} |", cell(samples));
                        }
                        None => line.push_str(" – |"),
                    }
                }
                if s.ratio.is_some() {
                    match s.ratio_of(r) {
                        Some(x) => {
                            let _ = write!(line, " {x:.2}× |");
                        }
                        None => line.push_str(" – |"),
                    }
                }
                let _ = writeln!(md, "{line} {} |", escape(&r.notes.join("; ")));
            }
            md.push('\n');
        }
        md
    }

    pub fn to_json(&self) -> Value {
        let scenarios: Vec<Value> = self
            .scenarios
            .iter()
            .map(|s| {
                let rows: Vec<Value> = s
                    .rows
                    .iter()
                    .map(|r| {
                        let metrics: serde_json::Map<String, Value> = r
                            .metrics
                            .iter()
                            .map(|(m, samples)| {
                                let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
                                let max = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                                (
                                    m.clone(),
                                    json!({
                                        "median": median(samples),
                                        "min": min,
                                        "max": max,
                                        "samples": samples,
                                    }),
                                )
                            })
                            .collect();
                        json!({
                            "case": r.case,
                            "contender": r.contender,
                            "status": r.status,
                            "metrics": metrics,
                            "ratio": s.ratio_of(r),
                            "notes": r.notes,
                        })
                    })
                    .collect();
                json!({
                    "id": s.id,
                    "title": s.title,
                    "setup": s.setup,
                    "ratio": s.ratio,
                    "skipped": s.skipped,
                    "rows": rows,
                })
            })
            .collect();
        json!({
            "date": self.date,
            "mode": self.mode,
            "duration_seconds": self.duration_seconds,
            "command": self.command,
            "machine": self.machine,
            "versions": self.versions,
            "goals": self.goals,
            "scenarios": scenarios,
        })
    }
}

fn join_map(map: &BTreeMap<String, String>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
