//! Identifier conversion: snake_case, PascalCase, keywords.

use proc_macro2::{Ident, Span};

const KEYWORDS: &[&str] = &[
    "as", "break", "const", "continue", "crate", "else", "enum", "extern", "false", "fn", "for",
    "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return",
    "self", "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where",
    "while", "async", "await", "dyn", "abstract", "become", "box", "do", "final", "macro",
    "override", "priv", "typeof", "unsized", "virtual", "yield", "try", "gen",
];

/// Splits a wire name into lowercase words (on `_`, `.`, `-`, spaces, other symbols and
/// camelCase humps).
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            let hump = c.is_ascii_uppercase()
                && !cur.is_empty()
                && (chars[i - 1].is_ascii_lowercase()
                    || chars[i - 1].is_ascii_digit()
                    || (i + 1 < chars.len()
                        && chars[i + 1].is_ascii_lowercase()
                        && chars[i - 1].is_ascii_uppercase()));
            if hump {
                out.push(std::mem::take(&mut cur));
            }
            cur.push(c.to_ascii_lowercase());
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `docs.count` → `docs_count`, `minScore` → `min_score`. Empty for names without
/// letters or digits.
pub fn snake(name: &str) -> String {
    let s = words(name).join("_");
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{s}")
    } else {
        s
    }
}

/// `match_phrase` → `MatchPhrase`.
pub fn pascal(name: &str) -> String {
    let s: String = words(name)
        .iter()
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("V{s}")
    } else {
        s
    }
}

/// Whether `s` is a Rust keyword.
pub fn is_keyword(s: &str) -> bool {
    KEYWORDS.contains(&s)
}

/// An identifier, raw when it is a keyword (`r#type`); `self`/`super`/`crate`/`Self`
/// cannot be raw and get a trailing underscore.
pub fn ident(s: &str) -> Ident {
    match s {
        "self" | "super" | "crate" | "Self" | "_" => {
            Ident::new(&format!("{s}_"), Span::call_site())
        }
        _ if is_keyword(s) => Ident::new_raw(s, Span::call_site()),
        _ => Ident::new(s, Span::call_site()),
    }
}

/// The name an identifier has on the wire by serde's rules (no `r#`).
pub fn unraw(s: &str) -> &str {
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(snake("docs.count"), "docs_count");
        assert_eq!(snake("minScore"), "min_score");
        assert_eq!(snake("_source_includes"), "source_includes");
        assert_eq!(snake("@timestamp"), "timestamp");
        assert_eq!(snake("HTTPStatus"), "http_status");
        assert_eq!(pascal("match_phrase"), "MatchPhrase");
        assert_eq!(pascal("1m"), "V1m");
        assert_eq!(pascal("geo_bounding_box"), "GeoBoundingBox");
        assert_eq!(ident("type").to_string(), "r#type");
    }
}
