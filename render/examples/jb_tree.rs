//! Writes the generated jsonnet-bundler tree of render/tests/jb_tree/fixture.rs (about 1,000 files, 10 MB) into an
//! empty directory, for e2e/bench-jb-tree.sh: `cargo run -p jaas-render --example jb_tree -- DIR [small]`.

#[path = "../tests/jb_tree/fixture.rs"]
mod fixture;

use std::{path::PathBuf, process::ExitCode};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(root) = args.next().map(PathBuf::from) else {
        eprintln!("usage: jb_tree DIR [small]   (DIR: an empty directory to write the tree into)");
        return ExitCode::from(2);
    };
    let scale = if args.next().is_some_and(|size| size == "small") { fixture::SMALL } else { fixture::FULL };
    let written = std::fs::create_dir_all(&root).and_then(|()| fixture::write(&root, scale));
    match written {
        Ok(written) => {
            println!(
                "{} files, {} bytes, {} legacy links in {}",
                written.files,
                written.bytes,
                written.links,
                root.display()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: cannot write the tree into {}: {error}", root.display());
            ExitCode::FAILURE
        }
    }
}
