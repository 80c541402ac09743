//! A parsed API request: its decoded parameters (query string plus form body), its headers, and
//! typed accessors that turn a bad value into the right [`ApiError`].

use std::collections::BTreeMap;

use keywarden_core::context::{ContextError, EncryptionContext, MAX_CONTEXT_CHARS};
use keywarden_core::sign::percent::FormParams;

use crate::error::ApiError;

/// Parameters that belong to the protocol (routing, signing), not to the action.
const PROTOCOL_PARAMS: &[&str] = &[
    "Action",
    "Version",
    "Format",
    "RegionId",
    "Timestamp",
    "SignatureMethod",
    "SignatureType",
    "SignatureVersion",
    "SignatureNonce",
    "AccessKeyId",
    "Signature",
    "SecurityToken",
];

/// One API request, decoded.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// Decoded query and form-body parameters, in arrival order (query first).
    pub params: FormParams,
    /// How many of `params` came from the query string (the rest came from a form body).
    pub query_len: usize,
    /// Headers with lower-case names: every header when the request has `Authorization`, else
    /// `content-type` and `x-acs-*` (what the RPC v1 path reads).
    pub headers: Vec<(String, String)>,
    /// Hex SHA-256 of the body, for the schemes that sign it (ACS3 and ACS4, which come with an
    /// `Authorization` header); empty otherwise (RPC v1 signs the body's parameters instead).
    pub body_sha256: String,
    /// Peer address, for logs and audit.
    pub peer: Option<std::net::SocketAddr>,
}

impl ApiRequest {
    /// Decodes the query and, for form content types, the body. A parameter given twice is
    /// refused: the signature would cover an ambiguous request.
    pub fn parse(
        method: &str,
        query: Option<&str>,
        headers: Vec<(String, String)>,
        body: &[u8],
        peer: Option<std::net::SocketAddr>,
    ) -> Result<Self, ApiError> {
        // Decoded text is never longer than its encoding: one buffer for query and body.
        let mut params = FormParams::with_capacity(query.map_or(0, str::len) + body.len());
        params
            .decode(query.unwrap_or(""))
            .map_err(|e| ApiError::ParseParameters(e.to_string()))?;
        let is_form = headers.iter().any(|(n, v)| {
            n == "content-type"
                && v.to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
        });
        let query_len = params.len();
        if is_form && !body.is_empty() {
            let text = std::str::from_utf8(body)
                .map_err(|_| ApiError::ParseParameters("body is not UTF-8".into()))?;
            params
                .decode(text)
                .map_err(|e| ApiError::ParseParameters(e.to_string()))?;
        }
        let mut names: Vec<&str> = params.iter().map(|(k, _)| k).collect();
        names.sort_unstable();
        if let Some(w) = names.windows(2).find(|w| w.first() == w.get(1)) {
            return Err(ApiError::ParseParameters(format!(
                "parameter {:?} appears more than once",
                w.first().copied().unwrap_or_default()
            )));
        }
        let body_sha256 = if headers.iter().any(|(n, _)| n == "authorization") {
            keywarden_core::sign::sha256_hex(body)
        } else {
            String::new()
        };
        Ok(Self {
            method: method.to_owned(),
            params,
            query_len,
            headers,
            body_sha256,
            peer,
        })
    }

    /// The parameters of the query string alone: what ACS3 and ACS4 sign as the canonical query
    /// (their body is covered by `x-acs-content-sha256`; RPC v1 signs query and body alike).
    pub fn query_params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().take(self.query_len)
    }

    /// The first value of header `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The raw value of parameter `name`, if present.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name)
    }

    /// A non-empty action parameter, or `None`.
    pub fn optional(&self, name: &str) -> Option<&str> {
        self.param(name).filter(|v| !v.is_empty())
    }

    /// A required non-empty parameter.
    pub fn required(&self, name: &'static str) -> Result<&str, ApiError> {
        self.optional(name).ok_or(ApiError::MissingParameter(name))
    }

    /// An optional integer parameter within `range`.
    pub fn int_in(
        &self,
        name: &'static str,
        range: std::ops::RangeInclusive<i64>,
    ) -> Result<Option<i64>, ApiError> {
        let Some(text) = self.optional(name) else {
            return Ok(None);
        };
        let n: i64 = text
            .trim()
            .parse()
            .map_err(|_| ApiError::invalid(name, format!("{text:?} is not an integer")))?;
        if !range.contains(&n) {
            return Err(ApiError::invalid(
                name,
                format!("{n} is outside {}..={}", range.start(), range.end()),
            ));
        }
        Ok(Some(n))
    }

    /// An optional boolean parameter (`true`/`false`, any case: Python sends `True`).
    pub fn bool(&self, name: &'static str) -> Result<Option<bool>, ApiError> {
        match self.optional(name).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(ApiError::invalid(
                name,
                format!("{other:?} is not true or false"),
            )),
        }
    }

    /// An optional parameter parsed by `FromStr` (wire enumerations).
    pub fn parsed<T: std::str::FromStr>(&self, name: &'static str) -> Result<Option<T>, ApiError> {
        self.optional(name)
            .map(|v| {
                v.parse::<T>()
                    .map_err(|_| ApiError::invalid(name, format!("{v:?} is not a valid value")))
            })
            .transpose()
    }

    /// A flattened list `Name.1`, `Name.2`, ... (the new SDK's rendering of list parameters),
    /// in index order. Indexes need not be contiguous; each must be a positive integer.
    pub fn indexed_values(&self, name: &'static str) -> Result<Vec<&str>, ApiError> {
        let mut items = Vec::new();
        for (k, v) in self.params.iter() {
            if let Some(rest) = k.strip_prefix(name).and_then(|r| r.strip_prefix('.')) {
                if !rest.contains('.') {
                    items.push((list_index(name, rest)?, v));
                }
            }
        }
        items.sort_by_key(|(n, _)| *n);
        Ok(items.into_iter().map(|(_, v)| v).collect())
    }

    /// A flattened list of objects `Name.N.Field` (e.g. `Tag.1.Key`, `Tag.1.Value`): per index,
    /// in index order, the `(field, value)` pairs.
    pub fn indexed_objects(&self, name: &'static str) -> Result<Vec<Vec<(&str, &str)>>, ApiError> {
        let mut objects: std::collections::BTreeMap<u32, Vec<(&str, &str)>> =
            std::collections::BTreeMap::new();
        for (k, v) in self.params.iter() {
            let Some(rest) = k.strip_prefix(name).and_then(|r| r.strip_prefix('.')) else {
                continue;
            };
            if let Some((index, field)) = rest.split_once('.') {
                let n = list_index(name, index)?;
                objects.entry(n).or_default().push((field, v));
            }
        }
        Ok(objects.into_values().collect())
    }

    /// A JSON-map parameter such as `EncryptionContext`, in any of the forms the SDKs send: the
    /// JSON string `Name={"k":"v"}` (Python, Java, Node 2+), flattened as `Name.k=v` (Node
    /// `@alicloud/kms20160120` 1.x), or as `Name.1.Key=k&Name.1.Value=v` (Go
    /// `denverdino/aliyungo`). All give the same context, so a blob made one way opens with the
    /// context given another way. A malformed flattened form, or a flattened form given with a
    /// JSON string that says something else, is `InvalidParameter`.
    pub fn context(&self, name: &'static str) -> Result<EncryptionContext, ApiError> {
        let bad = |reason: String| ApiError::invalid(name, reason);
        let json = EncryptionContext::parse(self.param(name)).map_err(|e| bad(e.to_string()))?;
        let Some(pairs) = self.flattened_map(name)? else {
            return Ok(json);
        };
        let flat = EncryptionContext::from_pairs(pairs);
        if flat.canonical().len() > MAX_CONTEXT_CHARS {
            return Err(bad(ContextError::TooLong.to_string()));
        }
        if self.optional(name).is_some() && json != flat {
            return Err(bad(format!(
                "given as JSON and flattened ({name}.*) with different pairs"
            )));
        }
        Ok(flat)
    }

    /// The pairs of a flattened map parameter `Name.k=v` or `Name.N.Key`/`Name.N.Value`;
    /// `None` when there are none.
    fn flattened_map(&self, name: &'static str) -> Result<Option<Vec<(String, String)>>, ApiError> {
        let bad = |reason: String| ApiError::invalid(name, reason);
        let mut by_name = Vec::new();
        let mut by_index: BTreeMap<u32, (Option<&str>, Option<&str>)> = BTreeMap::new();
        for (k, v) in self.params.iter() {
            let Some(rest) = k.strip_prefix(name).and_then(|r| r.strip_prefix('.')) else {
                continue;
            };
            match indexed_field(rest) {
                Some((index, field)) => {
                    let entry = by_index.entry(list_index(name, index)?).or_default();
                    match field {
                        "Key" => entry.0 = Some(v),
                        _ => entry.1 = Some(v),
                    }
                }
                None if rest.is_empty() => return Err(bad(format!("{k:?} names no key"))),
                None => by_name.push((rest.to_owned(), v.to_owned())),
            }
        }
        if !by_name.is_empty() && !by_index.is_empty() {
            return Err(bad(format!(
                "mixes {name}.<key>=<value> and {name}.N.Key/{name}.N.Value"
            )));
        }
        let mut pairs = by_name;
        for (index, entry) in by_index {
            let (Some(key), Some(value)) = entry else {
                return Err(bad(format!(
                    "{name}.{index} needs both {name}.{index}.Key and {name}.{index}.Value"
                )));
            };
            pairs.push((key.to_owned(), value.to_owned()));
        }
        let mut keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        keys.sort_unstable();
        if let Some(w) = keys.windows(2).find(|w| w.first() == w.get(1)) {
            return Err(bad(format!(
                "key {:?} appears more than once",
                w.first().copied().unwrap_or_default()
            )));
        }
        Ok((!pairs.is_empty()).then_some(pairs))
    }

    /// `DryRun=true` was given.
    pub fn dry_run(&self) -> Result<bool, ApiError> {
        Ok(self.bool("DryRun")?.unwrap_or(false))
    }

    /// The action's own parameters (protocol parameters removed), for audit and debugging.
    pub fn action_params(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params
            .iter()
            .filter(|(k, _)| !PROTOCOL_PARAMS.contains(k))
    }
}

/// `N.Key` / `N.Value` of a flattened map: `(N, field)`.
fn indexed_field(rest: &str) -> Option<(&str, &str)> {
    let (index, field) = rest.split_once('.')?;
    let digits = !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit());
    (digits && matches!(field, "Key" | "Value")).then_some((index, field))
}

/// The `N` of a flattened `Name.N`: a positive integer.
fn list_index(name: &'static str, text: &str) -> Result<u32, ApiError> {
    text.parse::<u32>()
        .ok()
        .filter(|n| *n >= 1 && text.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| {
            ApiError::invalid(
                name,
                format!("list index {text:?} is not a positive integer"),
            )
        })
}

/// Whether `c` may not appear in a stored free-text value (descriptions, tag keys and values,
/// RAM display names and comments): a C0 or C1 control character (`char::is_control`:
/// U+0000–U+001F, U+007F–U+009F, so NUL, TAB, CR and LF too) or a Unicode bidirectional
/// control (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069), which makes text display
/// as something other than what it is, and breaks logs and terminals that show it.
pub fn is_forbidden_in_text(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// Why `value` is not plain text: its first forbidden character and where (`None` when it is
/// plain). The one check behind [`plain_text`] and the RAM parameters.
pub fn text_problem(value: &str) -> Option<String> {
    let (at, c) = value
        .chars()
        .enumerate()
        .find(|(_, c)| is_forbidden_in_text(*c))?;
    Some(format!(
        "contains the control character U+{:04X} at character {at}; control and bidirectional formatting characters are not allowed",
        u32::from(c)
    ))
}

/// Refuses a free-text value holding a control or bidirectional formatting character:
/// `InvalidParameter` naming `name`.
pub fn plain_text(name: &'static str, value: &str) -> Result<(), ApiError> {
    match text_problem(value) {
        Some(reason) => Err(ApiError::invalid(name, reason)),
        None => Ok(()),
    }
}

/// Page parameters shared by the List* actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageParams {
    /// 1-based page number.
    pub number: u64,
    /// Entries per page.
    pub size: u64,
}

impl PageParams {
    /// Reads `PageNumber` (≥ 1, default 1) and `PageSize` (`min..=max`, default 10).
    pub fn read(req: &ApiRequest, max_size: i64) -> Result<Self, ApiError> {
        let number = req
            .int_in("PageNumber", 1..=i64::from(u32::MAX))?
            .unwrap_or(1);
        let size = req.int_in("PageSize", 1..=max_size)?.unwrap_or(10);
        Ok(Self {
            number: number.unsigned_abs(),
            size: size.unsigned_abs(),
        })
    }

    /// The store page.
    pub fn page(&self) -> keywarden_store::Page {
        keywarden_store::Page {
            offset: (self.number - 1).saturating_mul(self.size),
            limit: self.size,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(q: &str) -> ApiRequest {
        ApiRequest::parse("POST", Some(q), vec![], b"", None).unwrap()
    }

    #[test]
    fn typed_params() {
        let r = req("NumberOfBytes=32&DryRun=True&Empty=&Bad=x");
        assert_eq!(r.int_in("NumberOfBytes", 1..=1024).unwrap(), Some(32));
        assert!(r.int_in("NumberOfBytes", 1..=16).is_err());
        assert!(r.int_in("Bad", 1..=16).is_err());
        assert_eq!(r.bool("DryRun").unwrap(), Some(true));
        assert!(r.bool("Bad").is_err());
        assert!(matches!(
            r.required("Empty"),
            Err(ApiError::MissingParameter("Empty"))
        ));
        assert!(matches!(
            r.required("Nope"),
            Err(ApiError::MissingParameter("Nope"))
        ));
    }

    #[test]
    fn flattened_lists() {
        let r = req(
            "ResourceId.2=b&ResourceId.10=c&ResourceId.1=a&ResourceIdX=z&Tag.2.Key=k2&Tag.1.Key=k1&Tag.1.Value=v1",
        );
        assert_eq!(r.indexed_values("ResourceId").unwrap(), ["a", "b", "c"]);
        assert_eq!(
            r.indexed_objects("Tag").unwrap(),
            vec![vec![("Key", "k1"), ("Value", "v1")], vec![("Key", "k2")]]
        );
        assert!(r.indexed_values("Absent").unwrap().is_empty());
        assert!(req("ResourceId.0=a").indexed_values("ResourceId").is_err());
        assert!(req("ResourceId.x=a").indexed_values("ResourceId").is_err());
        assert!(
            req("ResourceId.%2B1=a")
                .indexed_values("ResourceId")
                .is_err()
        );
    }

    #[test]
    fn control_characters_are_not_plain_text() {
        for ok in [
            "",
            "plain text",
            "ünïcode ✓ 中文",
            "a/b\\c_d-e.f+g=h:i@j",
            "\u{200D}",
        ] {
            assert!(plain_text("Description", ok).is_ok(), "{ok:?}");
        }
        for bad in [
            "nul\0",
            "cr\r",
            "lf\n",
            "tab\t",
            "esc\u{1b}[31m",
            "del\u{7f}",
            "c1\u{85}",
            "\u{9b}",
            "rlo\u{202E}",
            "\u{202A}",
            "\u{2066}",
            "\u{2069}",
            "\u{200E}",
            "\u{200F}",
            "\u{061C}",
        ] {
            let e = plain_text("Description", bad).unwrap_err();
            assert_eq!(e.code(), "InvalidParameter", "{bad:?}");
            assert!(e.to_string().contains("\"Description\""), "{e}");
        }
        assert!(
            text_problem("ab\u{202E}")
                .unwrap()
                .contains("U+202E at character 2")
        );
    }

    #[test]
    fn form_body_and_duplicates() {
        let headers = vec![(
            "content-type".to_owned(),
            "application/x-www-form-urlencoded".to_owned(),
        )];
        let r = ApiRequest::parse("POST", Some("a=1"), headers.clone(), b"b=2+3", None).unwrap();
        assert_eq!(r.param("b"), Some("2 3"));
        assert!(ApiRequest::parse("POST", Some("a=1&a=2"), vec![], b"", None).is_err());
        assert!(ApiRequest::parse("POST", Some("a=1"), headers, b"a=2", None).is_err());
        assert!(ApiRequest::parse("POST", Some("a=%zz"), vec![], b"", None).is_err());
    }
}
