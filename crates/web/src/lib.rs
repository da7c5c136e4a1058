//! The dashboard's files, built from `ui/` by build.rs and embedded in the binary: one
//! `steward` executable serves its own front end, with nothing to deploy beside it.

/// One embedded file, with its gzip copy and a strong ETag (a digest of its bytes).
#[derive(Debug)]
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub etag: &'static str,
    pub bytes: &'static [u8],
    pub gzip: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The file served at `/ui/{name}`, or `index.html` for the app's root page.
pub fn asset(name: &str) -> Option<&'static Asset> {
    FILES.iter().find(|a| a.name == name)
}

/// The page every dashboard URL starts from.
pub fn index() -> &'static Asset {
    asset("index.html").expect("build.rs embeds index.html")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_is_embedded_with_gzip_copies() {
        let index = std::str::from_utf8(index().bytes).expect("utf-8 html");
        assert!(index.contains("/ui/app.js"), "index.html loads the bundle");
        for a in FILES {
            assert!(!a.bytes.is_empty(), "{} is empty", a.name);
            assert!(
                a.gzip.len() < a.bytes.len() || a.bytes.len() < 256,
                "{} compresses",
                a.name
            );
            assert!(a.etag.starts_with('"') && a.etag.ends_with('"'));
        }
        assert!(asset("app.js").is_some() && asset("nope.js").is_none());
    }
}
