//! ICAP's wire format (RFC 3507) as far as a virus-scanning client needs
//! it: the head of a response (status line and headers, folded lines
//! included), the `Encapsulated` header, what `OPTIONS` announces, and
//! where a verdict is read from. Pure functions over bytes: the client in
//! `icap.rs` does the reading and writing.

/// The most a response head may take (status line and headers), and so
/// the encapsulated HTTP headers.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed ICAP answer: {0}")]
pub struct WireError(pub &'static str);

/// A response's status and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    /// Names as sent; a folded value keeps its lines, joined by `\n`.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// Parses `ICAP/1.0 <status> <reason>` and the headers after it, up to
    /// the blank line (which `bytes` may include).
    pub fn parse(bytes: &[u8]) -> Result<Head, WireError> {
        let text = std::str::from_utf8(bytes).map_err(|_| WireError("not UTF-8"))?;
        let mut lines = text.split("\r\n");
        let status_line = lines.next().ok_or(WireError("no status line"))?;
        let mut parts = status_line.splitn(3, ' ');
        if parts.next() != Some("ICAP/1.0") {
            return Err(WireError("not ICAP/1.0"));
        }
        let status =
            parts.next().filter(|s| s.len() == 3).and_then(|s| s.parse().ok()).ok_or(WireError("no status code"))?;
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines.take_while(|l| !l.is_empty()) {
            if line.starts_with([' ', '\t']) {
                let (_, value) = headers.last_mut().ok_or(WireError("a continuation before any header"))?;
                value.push('\n');
                value.push_str(line.trim());
                continue;
            }
            let (name, value) = line.split_once(':').ok_or(WireError("a header without a colon"))?;
            if name.is_empty() || name.contains([' ', '\t']) {
                return Err(WireError("a malformed header name"));
            }
            headers.push((name.to_string(), value.trim().to_string()));
        }
        Ok(Head { status, headers })
    }

    /// The first header of that name (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Where the encapsulated parts start (`Encapsulated`).
    pub fn encapsulated(&self) -> Result<Encapsulated, WireError> {
        Encapsulated::parse(self.get("Encapsulated").ok_or(WireError("no Encapsulated header"))?)
    }
}

/// The `Encapsulated` header: the offsets of the HTTP headers carried, and
/// whether a (chunked) body follows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encapsulated {
    /// Offset of the encapsulated HTTP response's headers (`res-hdr`).
    pub response_headers: Option<usize>,
    /// Offset of the encapsulated HTTP request's headers (`req-hdr`).
    pub request_headers: Option<usize>,
    /// Where the headers end: the offset of the body or of `null-body`.
    pub headers_end: usize,
    /// Whether a chunked body follows (`req-body`, `res-body`, `opt-body`).
    pub has_body: bool,
}

impl Encapsulated {
    pub fn parse(value: &str) -> Result<Encapsulated, WireError> {
        let mut e = Encapsulated { response_headers: None, request_headers: None, headers_end: 0, has_body: false };
        let mut last = 0usize;
        let mut ended = false;
        for (i, part) in value.split(',').map(str::trim).enumerate() {
            let (name, offset) = part.split_once('=').ok_or(WireError("an Encapsulated part without an offset"))?;
            let offset: usize = offset.trim().parse().map_err(|_| WireError("an Encapsulated offset"))?;
            if ended || (i == 0 && offset != 0) || offset < last || offset > MAX_HEAD_BYTES {
                return Err(WireError("Encapsulated offsets out of order"));
            }
            last = offset;
            match name.trim() {
                "req-hdr" => e.request_headers = Some(offset),
                "res-hdr" => e.response_headers = Some(offset),
                "req-body" | "res-body" | "opt-body" => (e.has_body, ended) = (true, true),
                "null-body" => ended = true,
                _ => return Err(WireError("an unknown Encapsulated part")),
            }
            e.headers_end = offset;
        }
        if !ended {
            return Err(WireError("Encapsulated names no body part"));
        }
        Ok(e)
    }

    /// The status of the encapsulated HTTP response, from the headers read
    /// (`headers` holds the bytes from offset 0 to `headers_end`).
    pub fn http_status(&self, headers: &[u8]) -> Option<u16> {
        let start = self.response_headers?;
        let line = headers.get(start..)?.split(|b| *b == b'\r').next()?;
        let line = std::str::from_utf8(line).ok()?;
        let mut parts = line.split(' ');
        parts.next().filter(|v| v.starts_with("HTTP/"))?;
        parts.next()?.parse().ok()
    }
}

/// What a service announces in answer to `OPTIONS`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `Methods`, upper-case.
    pub methods: Vec<String>,
    /// `Preview`: how many bytes the service wants first, if it wants a preview.
    pub preview: Option<usize>,
    /// `Allow: 204`: the service may answer "unchanged" without echoing the body.
    pub allow_204: bool,
    /// `ISTag`: the service's state (its signatures' version, usually).
    pub istag: String,
    /// `Max-Connections`.
    pub max_connections: Option<usize>,
    /// `Options-TTL`, in seconds.
    pub ttl_seconds: Option<u64>,
}

impl Options {
    pub fn from_head(head: &Head) -> Result<Options, WireError> {
        if head.status != 200 {
            return Err(WireError("OPTIONS was not answered with 200"));
        }
        let number = |name| head.get(name).and_then(|v| v.trim().parse().ok());
        Ok(Options {
            methods: head
                .get("Methods")
                .unwrap_or_default()
                .split(',')
                .map(|m| m.trim().to_ascii_uppercase())
                .filter(|m| !m.is_empty())
                .collect(),
            preview: number("Preview"),
            allow_204: head.get("Allow").is_some_and(|v| v.split(',').any(|a| a.trim() == "204")),
            istag: head.get("ISTag").unwrap_or_default().trim_matches('"').to_string(),
            max_connections: number("Max-Connections").filter(|n| *n > 0),
            ttl_seconds: number("Options-TTL").map(|n: usize| n as u64),
        })
    }
}

/// The threat a service reports in the usual headers: `X-Infection-Found`
/// (`Type=0; Resolution=2; Threat=<name>;`), `X-Violations-Found` (a count,
/// then per violation a file name, the threat, an id and a resolution, as
/// folded lines) or `X-Virus-ID`.
pub fn threat(head: &Head) -> Option<String> {
    let infection = head
        .get("X-Infection-Found")
        .and_then(|v| v.split(';').find_map(|field| field.trim().strip_prefix("Threat=").map(str::to_string)));
    let violation = || head.get("X-Violations-Found").and_then(|v| v.split('\n').nth(2).map(str::to_string));
    let virus_id = || head.get("X-Virus-ID").map(str::to_string);
    let name = infection.or_else(violation).or_else(virus_id)?;
    let name: String = name.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').take(200).collect();
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_string())
}

/// Whether any of the headers a scanner reports a threat in is present
/// (even with a name that could not be read).
pub fn reports_threat(head: &Head) -> bool {
    ["X-Infection-Found", "X-Violations-Found", "X-Virus-ID"].iter().any(|h| head.get(h).is_some())
}

/// A chunk of a chunked body: its size in hex, the bytes, CRLF.
pub fn chunk_header(len: usize) -> String {
    format!("{len:x}\r\n")
}

/// A chunk-size line (`1f4; ext`): the size.
pub fn chunk_size(line: &[u8]) -> Result<usize, WireError> {
    let line = std::str::from_utf8(line).map_err(|_| WireError("a chunk size"))?;
    let size = line.trim_end_matches(['\r', '\n']).split(';').next().unwrap_or_default().trim();
    if size.is_empty() || size.len() > 12 {
        return Err(WireError("a chunk size"));
    }
    usize::from_str_radix(size, 16).map_err(|_| WireError("a chunk size"))
}

#[cfg(test)]
mod tests {
    use super::*;

    // c-icap 0.5's virus_scan answering an infected file (RFC 3507 §4.3.2
    // shape; the violation header folded as c-icap sends it).
    const INFECTED: &[u8] = b"ICAP/1.0 200 OK\r\nServer: C-ICAP/0.5.10\r\nConnection: keep-alive\r\n\
ISTag: \"CI0001-2-clamd-1\"\r\nX-Infection-Found: Type=0; Resolution=2; Threat=Ostrog.Test.EICAR.UNOFFICIAL;\r\n\
X-Violations-Found: 1\r\n\t-\r\n\tOstrog.Test.EICAR.UNOFFICIAL\r\n\t0\r\n\t0\r\n\
Encapsulated: res-hdr=0, res-body=108\r\n\r\n";

    #[test]
    fn a_head_with_folded_headers() {
        let head = Head::parse(INFECTED).unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(head.get("istag"), Some("\"CI0001-2-clamd-1\""));
        assert_eq!(head.get("X-Violations-Found"), Some("1\n-\nOstrog.Test.EICAR.UNOFFICIAL\n0\n0"));
        assert_eq!(threat(&head).as_deref(), Some("Ostrog.Test.EICAR.UNOFFICIAL"));
        let e = head.encapsulated().unwrap();
        assert_eq!((e.response_headers, e.headers_end, e.has_body), (Some(0), 108, true));
    }

    #[test]
    fn threats_from_each_header() {
        let with = |h: &str| Head::parse(format!("ICAP/1.0 200 OK\r\n{h}\r\n\r\n").as_bytes()).unwrap();
        assert_eq!(threat(&with("X-Violations-Found: 1\r\n\tf.pdf\r\n\tTrojan.X\r\n\t1\r\n\t2")).unwrap(), "Trojan.X");
        assert_eq!(threat(&with("X-Virus-ID: EICAR Test String")).unwrap(), "EICAR Test String");
        assert_eq!(threat(&with("X-Virus-ID: \u{1b}[31m\u{1b}")).unwrap(), "[31m", "no control characters");
        let empty = with("X-Virus-ID: \u{1}");
        assert!(threat(&empty).is_none() && reports_threat(&empty), "an unreadable name still reports a threat");
        assert!(!reports_threat(&with("ISTag: \"x\"")));
    }

    #[test]
    fn malformed_heads_are_refused() {
        for bad in [
            &b"HTTP/1.1 200 OK\r\n\r\n"[..],
            b"ICAP/1.0 2000 OK\r\n\r\n",
            b"ICAP/1.0 OK\r\n\r\n",
            b"ICAP/1.0 200 OK\r\n\tfolded first\r\n\r\n",
            b"ICAP/1.0 200 OK\r\nno colon\r\n\r\n",
            b"ICAP/1.0 200 OK\r\nbad name: x\r\n\r\n",
            b"\xff\xfe",
            b"",
        ] {
            assert!(Head::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn encapsulated_offsets() {
        let e = Encapsulated::parse("req-hdr=0, res-hdr=45, res-body=100").unwrap();
        assert_eq!((e.request_headers, e.response_headers, e.headers_end, e.has_body), (Some(0), Some(45), 100, true));
        let e = Encapsulated::parse("null-body=0").unwrap();
        assert_eq!((e.headers_end, e.has_body), (0, false));
        let headers = b"GET / HTTP/1.1\r\n\r\nHTTP/1.1 403 Forbidden\r\nServer: x\r\n\r\n";
        let e = Encapsulated::parse("req-hdr=0, res-hdr=18, null-body=53").unwrap();
        assert_eq!(e.http_status(headers), Some(403));
        for bad in [
            "res-hdr=10, res-body=20",
            "res-hdr=0, res-body=20, res-hdr=30",
            "res-hdr=0, res-body=x",
            "res-hdr=0",
            "res-hdr=30, res-body=20",
            "res-hdr=0, res-body=999999999",
            "res-hdr=0, frob=4",
            "",
        ] {
            assert!(Encapsulated::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn what_options_announce() {
        let head = Head::parse(
            b"ICAP/1.0 200 OK\r\nMethods: RESPMOD, reqmod\r\nISTag: \"CI0001-1\"\r\nMax-Connections: 100\r\n\
Options-TTL: 3600\r\nAllow: 204\r\nPreview: 1024\r\nEncapsulated: null-body=0\r\n\r\n",
        )
        .unwrap();
        let o = Options::from_head(&head).unwrap();
        assert_eq!(o.methods, ["RESPMOD", "REQMOD"]);
        assert_eq!(
            (o.preview, o.allow_204, o.max_connections, o.ttl_seconds),
            (Some(1024), true, Some(100), Some(3600))
        );
        assert_eq!(o.istag, "CI0001-1");
        let bare = Options::from_head(&Head::parse(b"ICAP/1.0 200 OK\r\nMax-Connections: 0\r\n\r\n").unwrap()).unwrap();
        assert_eq!((bare.preview, bare.allow_204, bare.max_connections), (None, false, None));
        assert!(Options::from_head(&Head::parse(b"ICAP/1.0 404 Not Found\r\n\r\n").unwrap()).is_err());
    }

    #[test]
    fn chunk_sizes() {
        assert_eq!(chunk_size(b"1f4\r\n").unwrap(), 500);
        assert_eq!(chunk_size(b"0; ieof\r\n").unwrap(), 0);
        assert_eq!(chunk_header(500), "1f4\r\n");
        for bad in [&b"\r\n"[..], b"xyz\r\n", b"fffffffffffffffff\r\n", b"-1\r\n"] {
            assert!(chunk_size(bad).is_err(), "{bad:?}");
        }
    }
}
