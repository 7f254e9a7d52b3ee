//! The command line of the design JaaS implements (metio/jaas), accepted as well as our subcommands: one binary
//! whose mode the flags choose. Without a subcommand, `jaas --enable-flux-integration ...` is `jaas run ...`
//! (operator mode) and `jaas --snippet-directory ...` is `jaas serve ...` (the render server).
//! Go-style single-dash long flags (`-snippet-directory`) are read as `--snippet-directory`; `--leader-election`,
//! honoured only in operator mode there, is dropped with a warning in render-server mode.

use std::ffi::OsString;

/// The flag that switches the design's binary into operator mode.
const OPERATOR_MODE_FLAG: &str = "enable-flux-integration";
/// Flags the render server ignores (they only mean something in operator mode).
const OPERATOR_ONLY_FLAGS: [&str; 1] = ["leader-election"];

/// `args` (program name first) rewritten into our subcommand form when they use the design's form; unchanged when
/// a subcommand (or `--help`/`--version`) is given.
pub fn rewrite(args: Vec<OsString>) -> Vec<OsString> {
    let mut args = args.into_iter();
    let program = args.next().unwrap_or_else(|| OsString::from("jaas"));
    let rest: Vec<OsString> = args.collect();
    let Some(first) = rest.first().map(|arg| arg.to_string_lossy().into_owned()) else {
        return vec![program];
    };
    let uses_subcommand = !first.starts_with('-')
        || matches!(first.as_str(), "-h" | "--help" | "-V" | "--version" | "-help" | "-version");
    if uses_subcommand {
        return std::iter::once(program).chain(rest).collect();
    }
    let flags: Vec<OsString> = rest.into_iter().map(double_dash).collect();
    let mut operator_mode = false;
    let mut kept = Vec::with_capacity(flags.len());
    for flag in flags {
        let text = flag.to_string_lossy();
        let name = text.trim_start_matches('-').split('=').next().unwrap_or_default().to_owned();
        if name == OPERATOR_MODE_FLAG {
            operator_mode = !text.ends_with("=false");
            continue;
        }
        kept.push(flag);
    }
    let (mode, kept) = if operator_mode {
        ("run", kept)
    } else {
        let (dropped, kept): (Vec<_>, Vec<_>) = kept.into_iter().partition(|flag| {
            let text = flag.to_string_lossy();
            OPERATOR_ONLY_FLAGS.iter().any(|name| text.trim_start_matches('-').split('=').next() == Some(name))
        });
        for flag in dropped {
            eprintln!(
                "warning: {} applies to operator mode (--enable-flux-integration) only: ignored",
                flag.to_string_lossy()
            );
        }
        ("serve", kept)
    };
    std::iter::once(program).chain(std::iter::once(OsString::from(mode))).chain(kept).collect()
}

/// `-name[=value]` (a Go-style long flag) as `--name[=value]`; every other argument as it is.
fn double_dash(arg: OsString) -> OsString {
    match arg.to_str() {
        Some(text) if text.len() > 2 && text.starts_with('-') && !text.starts_with("--") => {
            OsString::from(format!("-{text}"))
        }
        _ => arg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(args: &[&str]) -> Vec<String> {
        rewrite(args.iter().map(OsString::from).collect()).iter().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn subcommands_pass_through_unchanged() {
        assert_eq!(rewritten(&["jaas", "run", "--leader-election=false"]), ["jaas", "run", "--leader-election=false"]);
        assert_eq!(rewritten(&["jaas", "--help"]), ["jaas", "--help"]);
        assert_eq!(rewritten(&["jaas", "render", "-J", "vendor", "x"]), ["jaas", "render", "-J", "vendor", "x"]);
    }

    #[test]
    fn the_designs_flags_choose_the_mode() {
        assert_eq!(rewritten(&["jaas"]), ["jaas"], "no flags: the usage, as before");
        assert_eq!(
            rewritten(&["jaas", "-snippet-directory", "snippets", "--library-path=libs", "--leader-election"]),
            ["jaas", "serve", "--snippet-directory", "snippets", "--library-path=libs"]
        );
        assert_eq!(
            rewritten(&["jaas", "--enable-flux-integration", "--storage-base-url=http://a", "-storage-path=/data"]),
            ["jaas", "run", "--storage-base-url=http://a", "--storage-path=/data"]
        );
        assert_eq!(rewritten(&["jaas", "--enable-flux-integration=false"]), ["jaas", "serve"]);
    }
}
