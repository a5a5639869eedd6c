//! Records the compiler version for the `x-elastic-client-meta` header.

use std::process::Command;

fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.split_whitespace().nth(1).map(str::to_string))
        .map(|v| v.split('-').next().unwrap_or_default().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "0.0.0".into());
    println!("cargo:rustc-env=ES_TRANSPORT_RUSTC_VERSION={version}");
    println!("cargo:rerun-if-env-changed=RUSTC");
}
