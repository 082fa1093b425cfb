//! Finding and reading files under the root: blocking code, run on the blocking pool
//! (`spawn_blocking` in the hue server, tokio's blocking pool in the benchmark peer).
//!
//! The path was normalized by [`crate::http::normalize_path`] (no `..`, no empty segment), so
//! joining its segments to the root names something under the root *lexically*; a symlink
//! may still point elsewhere, so the result is canonicalized (every symlink resolved) and must
//! still start with the canonical root, or the answer is 403. Only regular files are served
//! (never a FIFO or a device, which could block a reader forever).

#![allow(dead_code)] // each includer uses a different subset

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::http;

/// What a file is, for its response headers.
#[derive(Clone, Debug)]
pub(crate) struct FileInfo {
    /// Its size in bytes.
    pub(crate) len: u64,
    /// Its modification time in seconds since the epoch (for `Last-Modified`), if known.
    pub(crate) modified: Option<u64>,
    /// The `Content-Type` by its extension.
    pub(crate) content_type: &'static str,
}

/// The outcome of looking a path up.
#[derive(Debug)]
pub(crate) enum Loaded {
    /// A small file, read whole.
    Small(FileInfo, Vec<u8>),
    /// A file over the streaming limit, opened; read it in chunks.
    Large(FileInfo, File),
    /// A directory named without its trailing `/`: redirect there (the value is the new path,
    /// already percent-encoded where needed).
    Redirect(Vec<u8>),
    /// Nothing there: 404.
    NotFound,
    /// There, but not to be served (outside the root through a symlink, not a regular file,
    /// no permission): 403.
    Forbidden,
}

/// Canonicalizes `root` once, at startup.
///
/// # Errors
///
/// If it does not exist or is not a directory.
pub(crate) fn canonical_root(root: &Path) -> io::Result<PathBuf> {
    let canon = root
        .canonicalize()
        .map_err(|e| io::Error::new(e.kind(), format!("root `{}`: {e}", root.display())))?;
    if !canon.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("root `{}` is not a directory", root.display()),
        ));
    }
    Ok(canon)
}

/// Canonicalizes `path` and checks it is still under `root`.
fn inside(root: &Path, path: &Path) -> Result<PathBuf, Loaded> {
    match path.canonicalize() {
        Ok(canon) if canon.starts_with(root) => Ok(canon),
        Ok(_) => Err(Loaded::Forbidden),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => Err(Loaded::Forbidden),
        Err(_) => Err(Loaded::NotFound),
    }
}

/// Finds the file for `key` (a normalized path) under the canonical `root`, and reads it
/// whole if it is at most `stream_above` bytes, else opens it for streaming. A directory is
/// served by its `index.html`.
pub(crate) fn load(root: &Path, key: &[u8], stream_above: u64) -> Loaded {
    match load_inner(root, key, stream_above) {
        Ok(loaded) | Err(loaded) => loaded,
    }
}

fn load_inner(root: &Path, key: &[u8], stream_above: u64) -> Result<Loaded, Loaded> {
    let mut path = root.to_path_buf();
    for segment in http::segments(key) {
        path.push(OsStr::from_bytes(segment));
    }
    let mut canon = inside(root, &path)?;
    let mut meta = canon.metadata().map_err(|_| Loaded::NotFound)?;
    if meta.is_dir() {
        if key.last() != Some(&b'/') {
            let mut location = key.to_vec();
            location.push(b'/');
            return Ok(Loaded::Redirect(percent_encode(&location)));
        }
        canon = inside(root, &canon.join("index.html"))?;
        meta = canon.metadata().map_err(|_| Loaded::NotFound)?;
    } else if key.last() == Some(&b'/') {
        return Err(Loaded::NotFound); // `file.txt/`
    }
    if !meta.is_file() {
        return Err(if meta.is_dir() {
            Loaded::NotFound
        } else {
            Loaded::Forbidden
        });
    }
    let mut file = File::open(&canon).map_err(|e| match e.kind() {
        io::ErrorKind::PermissionDenied => Loaded::Forbidden,
        _ => Loaded::NotFound,
    })?;
    // Describe what was opened (the file may have changed since the `metadata` above).
    let meta = file.metadata().map_err(|_| Loaded::NotFound)?;
    let name = canon.as_os_str().as_bytes();
    let mut info = FileInfo {
        len: meta.len(),
        modified: meta.modified().ok().map(http::unix_secs),
        content_type: http::content_type(name),
    };
    if info.len > stream_above {
        return Ok(Loaded::Large(info, file));
    }
    let mut body = Vec::with_capacity(info.len as usize);
    // Read at most the limit (plus one byte, to notice growth) whatever the size said.
    (&mut file)
        .take(stream_above + 1)
        .read_to_end(&mut body)
        .map_err(|_| Loaded::NotFound)?;
    if body.len() as u64 > stream_above {
        // It grew past the limit while we read: stream it instead, from the start.
        return File::open(&canon)
            .and_then(|f| Ok((f.metadata()?.len(), f)))
            .map(|(len, f)| {
                info.len = len;
                Loaded::Large(info, f)
            })
            .map_err(|_| Loaded::NotFound);
    }
    info.len = body.len() as u64;
    Ok(Loaded::Small(info, body))
}

/// Percent-encodes the bytes of a path that may not appear raw in a `Location` header.
pub(crate) fn percent_encode(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    for &b in path {
        if b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&b) {
            out.push(b);
        } else {
            out.extend_from_slice(format!("%{b:02X}").as_bytes());
        }
    }
    out
}

/// Reads the next chunk of a streamed file into `buf` (cleared first, up to its capacity);
/// the bytes read (0 at the end of the file).
///
/// # Errors
///
/// The read's error.
pub(crate) fn read_chunk(file: &mut File, buf: &mut Vec<u8>, max: usize) -> io::Result<usize> {
    buf.clear();
    file.take(max as u64).read_to_end(buf)
}
