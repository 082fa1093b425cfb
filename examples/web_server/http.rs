//! HTTP helpers with no runtime in them: request paths (percent-decoding and normalizing),
//! HTTP dates, content types by extension, status lines.
//!
//! Shared by the hue web server and the tokio + hyper benchmark server
//! (`benches/http_tokio_hyper.rs`), so both resolve paths and format headers the same way.

#![allow(dead_code)] // each includer uses a different subset

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why a request target cannot name a file under the root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PathError {
    /// Not a path at all (no leading `/`, a bad `%` escape, a NUL byte): 400.
    BadRequest,
    /// A `..` segment (also percent-encoded): an attempt to leave the root, 403.
    Forbidden,
}

/// Turns a request target (`/a/b%20c/?q`) into the normalized, decoded path used as the cache
/// key and to find the file (`/a/b c/`), written into `out` (cleared first).
///
/// - The query and fragment are dropped; an absolute-form target (`http://host/path`) is
///   reduced to its path.
/// - `%XX` escapes are decoded **before** splitting into segments, so `%2e%2e` is `..` and
///   `%2f` is a separator; a bad escape or a decoded NUL is [`PathError::BadRequest`].
/// - Empty and `.` segments are dropped (`//a/./b` is `/a/b`); any `..` segment is
///   [`PathError::Forbidden`] (never resolved: a file outside the root cannot be named).
/// - A trailing `/` is kept (it asks for a directory's `index.html`).
///
/// The result starts with `/`, and no segment is empty, `.`, `..` or contains `/` or NUL, so
/// joining its segments to the root one by one stays under the root (symlinks are checked
/// separately, when the file is opened).
pub(crate) fn normalize_path(target: &[u8], out: &mut Vec<u8>) -> Result<(), PathError> {
    out.clear();
    let mut path = target;
    // Absolute form: scheme://authority/path.
    for scheme in [&b"http://"[..], &b"https://"[..]] {
        if path.len() >= scheme.len() && path[..scheme.len()].eq_ignore_ascii_case(scheme) {
            let rest = &path[scheme.len()..];
            path = match rest.iter().position(|&b| b == b'/') {
                Some(i) => &rest[i..],
                None => b"/",
            };
            break;
        }
    }
    if let Some(end) = path.iter().position(|&b| b == b'?' || b == b'#') {
        path = &path[..end];
    }
    if path.first() != Some(&b'/') {
        return Err(PathError::BadRequest);
    }
    // Decode first, into `out`; then normalize the segments in place.
    let mut i = 0;
    while i < path.len() {
        let b = path[i];
        if b == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            match (
                path.get(i + 1).and_then(|&c| hex(c)),
                path.get(i + 2).and_then(|&c| hex(c)),
            ) {
                (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                _ => return Err(PathError::BadRequest),
            }
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    if out.contains(&0) {
        return Err(PathError::BadRequest);
    }
    // Fast path: nothing to normalize (no empty, `.` or `..` segment).
    let clean = !out.windows(2).any(|w| w == b"//")
        && !out.split(|&b| b == b'/').any(|s| s == b"." || s == b"..");
    if clean {
        return Ok(());
    }
    let trailing = out.last() == Some(&b'/');
    let decoded = std::mem::take(out);
    out.push(b'/');
    for segment in decoded.split(|&b| b == b'/') {
        match segment {
            b"" | b"." => {}
            b".." => return Err(PathError::Forbidden),
            s => {
                if out.len() > 1 {
                    out.push(b'/');
                }
                out.extend_from_slice(s);
            }
        }
    }
    if trailing && out.len() > 1 {
        out.push(b'/');
    }
    Ok(())
}

/// The segments of a path made by [`normalize_path`] (no empty ones).
pub(crate) fn segments(key: &[u8]) -> impl Iterator<Item = &[u8]> {
    key.split(|&b| b == b'/').filter(|s| !s.is_empty())
}

/// The `Content-Type` for a file name, by its extension (`application/octet-stream` if
/// unknown); text types say `charset=utf-8`.
pub(crate) fn content_type(name: &[u8]) -> &'static str {
    let ext = match name.iter().rposition(|&b| b == b'.') {
        Some(dot) if !name[dot..].contains(&b'/') => &name[dot + 1..],
        _ => return "application/octet-stream",
    };
    let mut lower = [0u8; 8];
    if ext.len() > lower.len() {
        return "application/octet-stream";
    }
    for (l, &b) in lower.iter_mut().zip(ext) {
        *l = b.to_ascii_lowercase();
    }
    match &lower[..ext.len()] {
        b"html" | b"htm" => "text/html; charset=utf-8",
        b"css" => "text/css; charset=utf-8",
        b"js" | b"mjs" => "text/javascript; charset=utf-8",
        b"json" => "application/json",
        b"txt" => "text/plain; charset=utf-8",
        b"md" => "text/markdown; charset=utf-8",
        b"csv" => "text/csv; charset=utf-8",
        b"xml" => "application/xml",
        b"svg" => "image/svg+xml",
        b"png" => "image/png",
        b"jpg" | b"jpeg" => "image/jpeg",
        b"gif" => "image/gif",
        b"webp" => "image/webp",
        b"ico" => "image/x-icon",
        b"pdf" => "application/pdf",
        b"wasm" => "application/wasm",
        b"woff" => "font/woff",
        b"woff2" => "font/woff2",
        b"mp3" => "audio/mpeg",
        b"mp4" => "video/mp4",
        b"webm" => "video/webm",
        b"zip" => "application/zip",
        b"gz" => "application/gzip",
        b"tar" => "application/x-tar",
        _ => "application/octet-stream",
    }
}

/// The reason phrase of the statuses this server sends.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        301 => "Moved Permanently",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]; // 1970-01-01 was a Thursday
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Seconds since the Unix epoch (0 for times before it).
pub(crate) fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Formats seconds since the epoch as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`,
/// always 29 bytes).
pub(crate) fn http_date(secs: u64) -> [u8; 29] {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    let s = format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
    let mut out = [b' '; 29];
    let n = s.len().min(29);
    out[..n].copy_from_slice(&s.as_bytes()[..n]);
    out
}

/// Parses an HTTP-date in any of the three forms HTTP allows (IMF-fixdate
/// `Sun, 06 Nov 1994 08:49:37 GMT`, RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT`, asctime
/// `Sun Nov  6 08:49:37 1994`) into seconds since the epoch; `None` if it is none of them
/// (and then `If-Modified-Since` is ignored, as RFC 9110 says).
pub(crate) fn parse_http_date(value: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(value).ok()?;
    let mut month = None;
    let mut time = None;
    let mut numbers = Vec::with_capacity(2);
    for token in text.split([' ', ',', '-']).filter(|t| !t.is_empty()) {
        if token.contains(':') {
            let mut parts = token.split(':').map(|p| p.parse::<u64>().ok());
            let (h, mi, s) = (parts.next()??, parts.next()??, parts.next()??);
            if parts.next().is_some() || h > 23 || mi > 59 || s > 60 {
                return None;
            }
            time = Some(h * 3600 + mi * 60 + s);
        } else if token.bytes().all(|b| b.is_ascii_digit()) {
            numbers.push((token.len(), token.parse::<u64>().ok()?));
        } else if let Some(i) = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(token)) {
            month = Some(i as u64 + 1);
        }
    }
    let [(_, day), (ylen, year)] = numbers[..] else {
        return None;
    };
    let year = match ylen {
        2 if year >= 70 => 1900 + year,
        2 => 2000 + year,
        4 => year,
        _ => return None,
    };
    let month = month?;
    if !(1..=31).contains(&day) || year < 1970 {
        return None;
    }
    let days = days_from_civil(year as i64, month as i64, day as i64);
    Some(days as u64 * 86_400 + time?)
}

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Days since 1970-01-01 of a civil date (the inverse of [`civil_from_days`]).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The current time as an HTTP date, formatted at most once a second per thread.
pub(crate) fn now_http_date() -> [u8; 29] {
    use std::cell::Cell;
    thread_local! {
        static CACHED: Cell<(u64, [u8; 29])> = const { Cell::new((u64::MAX, [0; 29])) };
    }
    let secs = unix_secs(SystemTime::now());
    CACHED.with(|c| {
        let (at, date) = c.get();
        if at == secs {
            date
        } else {
            let date = http_date(secs);
            c.set((secs, date));
            date
        }
    })
}

/// The `Content-Type`, `Content-Length` and `Last-Modified` lines of a file's response (each
/// ending in CRLF): computed once per cached file.
pub(crate) fn entity_headers(content_type: &str, len: u64, modified: Option<u64>) -> Vec<u8> {
    let mut head = Vec::with_capacity(128);
    head.extend_from_slice(b"Content-Type: ");
    head.extend_from_slice(content_type.as_bytes());
    head.extend_from_slice(b"\r\nContent-Length: ");
    head.extend_from_slice(len.to_string().as_bytes());
    head.extend_from_slice(b"\r\n");
    if let Some(secs) = modified {
        head.extend_from_slice(b"Last-Modified: ");
        head.extend_from_slice(&http_date(secs));
        head.extend_from_slice(b"\r\n");
    }
    head
}

/// Whether a response with `Last-Modified: modified` answers `If-Modified-Since: since`
/// with 304 (the file has not changed since that date).
pub(crate) fn not_modified(modified: Option<u64>, if_modified_since: Option<&[u8]>) -> bool {
    match (modified, if_modified_since.and_then(parse_http_date)) {
        (Some(m), Some(since)) => m <= since,
        _ => false,
    }
}

/// A duration in the form people read (`10s`, `300ms`).
pub(crate) fn human_duration(d: Duration) -> String {
    if d.as_millis() % 1000 == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}
