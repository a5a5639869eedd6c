//! Building request targets: path parts and query strings, percent-encoded the way
//! Elasticsearch decodes them.
//!
//! Every value is encoded on its own; list values are joined with a literal `,`
//! (Elasticsearch splits lists on the decoded comma, so the separators stay readable
//! while commas inside one value would be ambiguous either way).

use std::fmt::Write as _;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986 unreserved characters is encoded, in paths and in queries.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A value that can stand in a URL path part or a query parameter.
///
/// `write_values` calls `push` once per list element: scalars call it once, lists once
/// per element. The caller encodes each element and joins them with `,`.
pub trait UrlValue {
    /// Hands each element of the value, unencoded, to `push`.
    fn write_values(&self, push: &mut dyn FnMut(&str));
}

impl<T: UrlValue + ?Sized> UrlValue for &T {
    fn write_values(&self, push: &mut dyn FnMut(&str)) {
        (**self).write_values(push)
    }
}

impl UrlValue for str {
    fn write_values(&self, push: &mut dyn FnMut(&str)) {
        push(self)
    }
}

impl UrlValue for String {
    fn write_values(&self, push: &mut dyn FnMut(&str)) {
        push(self)
    }
}

impl UrlValue for bool {
    fn write_values(&self, push: &mut dyn FnMut(&str)) {
        push(if *self { "true" } else { "false" })
    }
}

macro_rules! url_value_display {
    ($($t:ty),*) => {$(
        impl UrlValue for $t {
            fn write_values(&self, push: &mut dyn FnMut(&str)) {
                push(&self.to_string())
            }
        }
    )*};
}
url_value_display!(i8, i16, i32, i64, u8, u16, u32, u64, usize, isize, f32, f64);

impl<T: UrlValue> UrlValue for [T] {
    fn write_values(&self, push: &mut dyn FnMut(&str)) {
        for item in self {
            item.write_values(push);
        }
    }
}

impl<T: UrlValue> UrlValue for Vec<T> {
    fn write_values(&self, push: &mut dyn FnMut(&str)) {
        self.as_slice().write_values(push)
    }
}

fn encode_into(out: &mut String, value: &dyn UrlValue) {
    let mut first = true;
    value.write_values(&mut |element| {
        if !first {
            out.push(',');
        }
        first = false;
        // `.` and `..` are path navigation to URL normalisers; encoded they are plain names.
        if element == "." {
            out.push_str("%2E");
        } else if element == ".." {
            out.push_str("%2E%2E");
        } else {
            let _ = write!(out, "{}", utf8_percent_encode(element, COMPONENT));
        }
    });
}

/// Builds a request target: path segments first, then query parameters.
///
/// ```
/// use elasticsearch_client::runtime::UrlBuilder;
///
/// let mut url = UrlBuilder::new();
/// url.literal("/");
/// url.part(&"dir/file.txt");
/// url.literal("/_doc");
/// url.param("refresh", &true);
/// url.param("_source_includes", &vec!["a", "b.c"]);
/// assert_eq!(url.finish(), "/dir%2Ffile.txt/_doc?refresh=true&_source_includes=a,b.c");
/// ```
#[derive(Debug, Default)]
pub struct UrlBuilder {
    buf: String,
    has_query: bool,
}

impl UrlBuilder {
    /// An empty target.
    pub fn new() -> Self {
        Self {
            buf: String::with_capacity(64),
            has_query: false,
        }
    }

    /// Appends a literal piece of the URL pattern, such as `/_doc/`.
    pub fn literal(&mut self, text: &str) -> &mut Self {
        debug_assert!(!self.has_query, "path written after the query");
        self.buf.push_str(text);
        self
    }

    /// Appends a path part, percent-encoded (lists joined with `,`).
    pub fn part(&mut self, value: &dyn UrlValue) -> &mut Self {
        debug_assert!(!self.has_query, "path written after the query");
        encode_into(&mut self.buf, value);
        self
    }

    /// Appends `name=value` to the query string.
    pub fn param(&mut self, name: &str, value: &dyn UrlValue) -> &mut Self {
        self.buf.push(if self.has_query { '&' } else { '?' });
        self.has_query = true;
        self.buf.push_str(name);
        self.buf.push('=');
        encode_into(&mut self.buf, value);
        self
    }

    /// Appends `name=value` when the value is set.
    pub fn opt_param<T: UrlValue>(&mut self, name: &str, value: Option<&T>) -> &mut Self {
        if let Some(value) = value {
            self.param(name, value);
        }
        self
    }

    /// The finished target: path and query.
    pub fn finish(self) -> String {
        if self.buf.is_empty() {
            "/".to_string()
        } else {
            self.buf
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_path(id: &str) -> String {
        let mut url = UrlBuilder::new();
        url.literal("/test/_doc/").part(&id);
        url.finish()
    }

    #[test]
    fn reserved_characters_in_ids_are_encoded() {
        assert_eq!(doc_path("dir/file.txt"), "/test/_doc/dir%2Ffile.txt");
        assert_eq!(doc_path("q?x"), "/test/_doc/q%3Fx");
        assert_eq!(doc_path("h#1"), "/test/_doc/h%231");
        assert_eq!(doc_path("50%"), "/test/_doc/50%25");
        assert_eq!(doc_path("a%2Fb"), "/test/_doc/a%252Fb");
        assert_eq!(doc_path("é"), "/test/_doc/%C3%A9");
        assert_eq!(doc_path("a b+c"), "/test/_doc/a%20b%2Bc");
        assert_eq!(
            doc_path("test-weird-index-中文"),
            "/test/_doc/test-weird-index-%E4%B8%AD%E6%96%87"
        );
    }

    #[test]
    fn dot_segments_are_not_left_for_normalisers() {
        assert_eq!(doc_path(".."), "/test/_doc/%2E%2E");
        assert_eq!(doc_path("."), "/test/_doc/%2E");
        assert_eq!(doc_path("..."), "/test/_doc/...");
    }

    #[test]
    fn lists_join_with_literal_commas() {
        let mut url = UrlBuilder::new();
        url.literal("/").part(&vec!["a", "b,c", "<logs-{now/d}>"]);
        url.literal("/_search");
        url.param("expand_wildcards", &vec!["open", "hidden"]);
        url.param("scroll", &"1m");
        url.param("size", &10u32);
        url.param("_source", &false);
        assert_eq!(
            url.finish(),
            "/a,b%2Cc,%3Clogs-%7Bnow%2Fd%7D%3E/_search?expand_wildcards=open,hidden&scroll=1m&size=10&_source=false"
        );
    }

    #[test]
    fn empty_values_are_sent_empty() {
        let mut url = UrlBuilder::new();
        url.literal("/_refresh").param("refresh", &"");
        assert_eq!(url.finish(), "/_refresh?refresh=");
    }

    #[test]
    fn unset_optional_params_are_left_out() {
        let mut url = UrlBuilder::new();
        url.literal("/_count");
        url.opt_param::<u32>("size", None);
        url.opt_param("q", Some(&"a b"));
        assert_eq!(url.finish(), "/_count?q=a%20b");
    }
}
