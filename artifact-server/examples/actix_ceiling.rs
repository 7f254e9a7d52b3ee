//! The fastest an actix-web server can answer an in-memory file, for `e2e/bench-server.sh`: no routing beyond one
//! map lookup, no cache bookkeeping, no logging, no metrics, no caching headers; each body goes out in slices of
//! `SLICE_KIB` with a write buffer of the same size, as jaas-artifact-server does. The gap between this and nginx is
//! what actix-web itself costs; the gap between this and jaas-artifact-server is what our server adds.
//!
//! Usage: `actix_ceiling ROOT PORT [SLICE_KIB]`: serves every file under ROOT at its path relative to ROOT, from
//! memory, on 127.0.0.1 only, one worker per core.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use bytes::Bytes;

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, root, port, rest @ ..] = args.as_slice() else {
        eprintln!("usage: actix_ceiling ROOT PORT [SLICE_KIB]");
        std::process::exit(2);
    };
    let port: u16 = port.parse().expect("PORT is a number");
    let slice = rest.first().map_or(256, |kib| kib.parse::<usize>().expect("SLICE_KIB is a number")) << 10;
    let mut files = HashMap::new();
    load_files(Path::new(root), Path::new(root), &mut files)?;
    let files = Arc::new(files);
    HttpServer::new(move || {
        let files = files.clone();
        App::new().default_service(web::to(move |request: HttpRequest| {
            let body = files.get(request.path()).cloned();
            async move {
                let Some(body) = body else { return HttpResponse::NotFound().finish() };
                let size = body.len();
                let slices: Vec<Result<Bytes, Infallible>> =
                    (0..size).step_by(slice).map(|start| Ok(body.slice(start..size.min(start + slice)))).collect();
                HttpResponse::Ok()
                    .content_type("application/gzip")
                    .no_chunking(size as u64)
                    .streaming(futures::stream::iter(slices))
            }
        }))
    })
    .h1_write_buffer_size(slice)
    .shutdown_timeout(1)
    .bind(("127.0.0.1", port))?
    .run()
    .await
}

/// Reads every file under `dir` into `files`, keyed by "/" + its path relative to `root`.
fn load_files(root: &Path, dir: &Path, files: &mut HashMap<String, Bytes>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            load_files(root, &path, files)?;
        } else {
            let relative = path.strip_prefix(root).expect("under root").to_string_lossy().into_owned();
            files.insert(format!("/{relative}"), Bytes::from(std::fs::read(&path)?));
        }
    }
    Ok(())
}
