//! The renderer's own output spells every number as go-jsonnet's `jsonnet` command does (issue 16): batches of
//! random doubles of every kind (any bit pattern, subnormals, ±0, integers around 2^53 and 2^63, the largest
//! double), written as Jsonnet literals, go through `jaas render` once (`rendered.json` and the YAML document) and
//! through go-jsonnet once, and every spelling must be go-jsonnet's, also those Jsonnet code makes (std.toString,
//! `'' + v`, `'%s' % v`, and std.format's `%d %f %e %g %x`). The YAML must also read back to the same doubles.

mod render_support;

use proptest::{prelude::*, test_runner::FileFailurePersistence};
use render_support::go_jsonnet::{self, GoJob};
use serde_json::Value;

/// Numbers per batch: one `jaas render` and one go-jsonnet call each.
const BATCH: usize = 2_000;
/// The cases named in issue 16 and docs/fidelity.md, in every batch.
const NAMED_CASES: &[f64] = &[
    0.1,
    1e25,
    9_007_199_254_740_993.0,
    f64::MAX,
    f64::MIN,
    5e-324,
    -0.0,
    0.0,
    1e-7,
    123_456_789.123,
    9_223_372_036_854_775_808.0,
    f64::MIN_POSITIVE,
    1e21,
    1e-5,
];
/// Where integers stop being exact (2^53) and where `i64` ends (2^63).
const TWO_POW_53: f64 = 9_007_199_254_740_992.0;
const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;

/// Finite doubles of every kind.
fn double() -> impl Strategy<Value = f64> {
    let sign = |negative: bool, v: f64| if negative { -v } else { v };
    prop_oneof![
        4 => any::<u64>().prop_map(f64::from_bits),
        1 => (any::<bool>(), 1..(1_u64 << 52)).prop_map(move |(negative, bits)| sign(negative, f64::from_bits(bits))),
        1 => (any::<bool>(), -4_000_i64..4_000).prop_map(move |(negative, step)| sign(negative, bit_step(TWO_POW_53, step))),
        1 => (any::<bool>(), -4_000_i64..4_000).prop_map(move |(negative, step)| sign(negative, bit_step(TWO_POW_63, step))),
        1 => (-100_000_i32..100_000, 0..20_i32).prop_map(|(n, k)| f64::from(n) / 10_f64.powi(k)),
        1 => proptest::sample::select(NAMED_CASES),
    ]
    .prop_filter("JSON has only finite numbers", |v| v.is_finite())
}

/// The double `steps` representable values away from `v` (a positive normal double).
fn bit_step(v: f64, steps: i64) -> f64 {
    f64::from_bits(v.to_bits().wrapping_add_signed(steps))
}

/// A Jsonnet array of `numbers`, each as the shortest literal that reads back as it (`-0e0` for -0).
fn program(numbers: &[f64]) -> String {
    let literals: Vec<String> = numbers.iter().map(|v| format!("{v:e}")).collect();
    format!("[\n{}\n]\n", literals.join(",\n"))
}

/// The spellings of a one-number-per-line array in a JSON document: the lines after `opening` up to its `]`.
fn array_lines<'t>(text: &'t str, opening: &str) -> Vec<&'t str> {
    text.lines()
        .skip_while(|line| line.trim_end() != opening)
        .skip(1)
        .take_while(|line| !matches!(line.trim(), "]" | "],"))
        .map(|line| line.trim().trim_end_matches(','))
        .collect()
}

/// The items of the YAML block sequence under the top-level key `value`.
fn yaml_items(text: &str) -> Vec<&str> {
    text.lines().skip_while(|line| *line != "value:").skip(1).map_while(|line| line.strip_prefix("- ")).collect()
}

/// For each number of `program.jsonnet`, one string of the spellings Jsonnet code makes of it: std.toString, string
/// concatenation and `%s`, which jrsonnet writes with the same formatter as the renderer (docs/fidelity.md).
const STRINGS_PROGRAM: &str = "[std.toString(v) + ' ' + ('' + v) + ' ' + ('%s' % v) + ' ' + std.format('%s', [v]) for v in import 'program.jsonnet']\n";

/// For each number of `program.jsonnet`, its std.format conversions at full precision (`%d %f %e %g %x`, which
/// jrsonnet computes as std.jsonnet does, with Go's log and pow, since the carried jrsonnet-evaluator patch). Left
/// out: %f of values above 1e280, whose rounding step overflows (an error in both).
const FORMAT_PROGRAM: &str = "[\
    if std.abs(v) > 1e280 then '%d|%.3e|%g|%.17G|%x' % [v, v, v, v, v] \
    else '%d|%f|%.3e|%g|%.17G|%x|%.20f' % [v, v, v, v, v, v, v] for v in import 'program.jsonnet']\n";

/// What go-jsonnet's `jsonnet` command prints for each element of the array `program_file` evaluates to.
fn go_jsonnet_spellings(program_file: &str) -> Vec<String> {
    let job = GoJob { file: program_file.to_owned(), ..GoJob::default() };
    let results =
        go_jsonnet::run_helper(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/render_support/go_jsonnet.py"), &[job]);
    let text = results[0]["ok"].as_str().unwrap_or_else(|| panic!("go-jsonnet failed: {}", results[0]));
    array_lines(text, "[").into_iter().map(str::to_owned).collect()
}

/// `rendered.json` and `manifests.yaml` of `jaas render` for the program wrapped in a ConfigMap.
fn jaas_render(dir: &tempfile::TempDir) -> (String, String) {
    let tarball = dir.path().join("out.tar.gz");
    let output = render_support::render(&[
        &render_support::at(dir, "main.jsonnet"),
        "-o",
        &tarball.to_string_lossy(),
        "--evaluation-timeout",
        "120s",
    ]);
    assert!(output.status.success(), "jaas render failed: {}", render_support::stderr(&output));
    let files = render_support::untar(&std::fs::read(tarball).expect("the tarball"));
    let file = |name: &str| files.iter().find(|(path, _)| path == name).map(|(_, text)| text.clone()).expect(name);
    (file("rendered.json"), file("manifests.yaml"))
}

/// Each index where `ours` differs from go-jsonnet's spelling, with the double's bits.
fn mismatches(what: &str, numbers: &[f64], ours: &[&str], reference: &[String]) -> Vec<String> {
    assert_eq!(ours.len(), numbers.len(), "{what}: one line per number");
    numbers
        .iter()
        .zip(ours.iter().zip(reference))
        .filter(|(_, (ours, reference))| ours != reference)
        .map(|(v, (ours, reference))| {
            format!("{what}: {v:e} (bits {:#018x}): jaas {ours}, go-jsonnet {reference}", v.to_bits())
        })
        .collect()
}

/// Renders `numbers` with both and returns every difference (empty when all agree).
fn differences(numbers: &[f64]) -> Vec<String> {
    let dir = render_support::tree(&[
        ("program.jsonnet", &program(numbers)),
        ("strings.jsonnet", STRINGS_PROGRAM),
        ("formats.jsonnet", FORMAT_PROGRAM),
        (
            "main.jsonnet",
            "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'numbers' }, value: import 'program.jsonnet', \
             strings: import 'strings.jsonnet', formats: import 'formats.jsonnet' }\n",
        ),
    ]);
    let reference = go_jsonnet_spellings(&render_support::at(&dir, "program.jsonnet"));
    assert_eq!(reference.len(), numbers.len(), "go-jsonnet prints one line per number");
    let strings = go_jsonnet_spellings(&render_support::at(&dir, "strings.jsonnet"));
    let formats = go_jsonnet_spellings(&render_support::at(&dir, "formats.jsonnet"));
    let (json, yaml) = jaas_render(&dir);
    let mut found = mismatches("rendered.json", numbers, &array_lines(&json, "  \"value\": ["), &reference);
    found.extend(mismatches("toString, + and %s", numbers, &array_lines(&json, "  \"strings\": ["), &strings));
    found.extend(mismatches("std.format", numbers, &array_lines(&json, "  \"formats\": ["), &formats));
    found.extend(mismatches("manifests.yaml", numbers, &yaml_items(&yaml), &reference));
    let read: Vec<Value> = serde_saphyr::from_str_multiple(&yaml).expect("the YAML parses");
    let read = read[0]["value"].as_array().expect("value is a sequence");
    for (v, number) in numbers.iter().zip(read) {
        let back = number.as_f64().expect("a number");
        // `-0` is an integer in YAML, so it reads back as 0, as in any YAML reader.
        if back.to_bits() != v.to_bits() && !(*v == 0.0 && back == 0.0) {
            found.push(format!("manifests.yaml: {v:e} reads back as {back:e}"));
        }
    }
    found
}

proptest! {
    // Each case is one batch of BATCH numbers through both implementations; shrinking would rerun both many
    // times, and the failure already lists every number that differs.
    #![proptest_config(ProptestConfig {
        cases: 3,
        max_shrink_iters: 0,
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..ProptestConfig::default()
    })]

    #[test]
    fn rendered_numbers_are_spelled_as_go_jsonnet_spells_them(random in proptest::collection::vec(double(), BATCH)) {
        let numbers: Vec<f64> = NAMED_CASES.iter().copied().chain(random).collect();
        let found = differences(&numbers);
        prop_assert!(found.is_empty(), "{} of {} numbers differ:\n{}", found.len(), numbers.len(), found.join("\n"));
    }
}

#[test]
fn integers_stay_yaml_integers() {
    let dir = render_support::tree(&[(
        "main.jsonnet",
        "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'n' }, value: [3, -7, 1e25, std.pow(2, 63)] }\n",
    )]);
    let (_, yaml) = jaas_render(&dir);
    assert_eq!(yaml_items(&yaml), ["3", "-7", "10000000000000000905969664", "9223372036854775808"], "{yaml}");
    let read: Vec<Value> = serde_saphyr::from_str_multiple(&yaml).expect("the YAML parses");
    assert!(read[0]["value"][3].is_u64(), "2^63 is read as an integer: {yaml}");
}
