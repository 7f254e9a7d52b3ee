//! The comparison of two revisions' objects ([`compare`]) and how it reads: text for people (a header per object
//! that differs, a unified diff under each changed one, a summary line) or JSON for scripts.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;
use similar::TextDiff;

use super::objects::{Document, ObjectKey};

/// Lines of context around each change, as `diff -u`.
const CONTEXT_LINES: usize = 3;

/// How one object differs between the two revisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Only in the second revision.
    Added,
    /// Only in the first revision.
    Removed,
    /// In both, with different text: the unified diff from the first to the second.
    Changed(String),
}

/// The objects that differ, sorted by key, and how many do not.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Report {
    /// Each object that differs, with how.
    pub differences: Vec<(ObjectKey, Change)>,
    /// How many objects have the same text in both.
    pub unchanged: usize,
}

/// Compares the objects of revision `from` with those of revision `to`.
pub fn compare(from: &BTreeMap<ObjectKey, Document>, to: &BTreeMap<ObjectKey, Document>) -> Report {
    let mut report = Report::default();
    let keys: BTreeSet<&ObjectKey> = from.keys().chain(to.keys()).collect();
    for key in keys {
        let change = match (from.get(key), to.get(key)) {
            (Some(old), Some(new)) if old.text == new.text => {
                report.unchanged += 1;
                continue;
            }
            (Some(old), Some(new)) => Change::Changed(unified_diff(old, new)),
            (Some(_), None) => Change::Removed,
            (None, _) => Change::Added,
        };
        report.differences.push((key.clone(), change));
    }
    report
}

/// `--- a/<file>`, `+++ b/<file>` (the files the object is in) and the hunks.
fn unified_diff(old: &Document, new: &Document) -> String {
    TextDiff::from_lines(&old.text, &new.text)
        .unified_diff()
        .context_radius(CONTEXT_LINES)
        .header(&format!("a/{}", old.file), &format!("b/{}", new.file))
        .to_string()
}

impl Report {
    /// True when any object was added, removed or changed.
    pub fn has_differences(&self) -> bool {
        !self.differences.is_empty()
    }

    /// How many objects were added, removed and changed, in that order.
    fn counts(&self) -> (usize, usize, usize) {
        let count = |wanted: fn(&Change) -> bool| self.differences.iter().filter(|(_, change)| wanted(change)).count();
        (
            count(|change| *change == Change::Added),
            count(|change| *change == Change::Removed),
            count(|change| matches!(change, Change::Changed(_))),
        )
    }

    /// `+ <key>`, `- <key>` or `~ <key>` per object that differs, the unified diff under each changed one unless
    /// `summary`, and the line `N added, N removed, N changed, N unchanged`.
    pub fn text(&self, summary: bool) -> String {
        let mut text = String::new();
        for (key, change) in &self.differences {
            let (mark, diff) = match change {
                Change::Added => ('+', None),
                Change::Removed => ('-', None),
                Change::Changed(diff) => ('~', Some(diff)),
            };
            let _ = writeln!(text, "{mark} {key}");
            if let Some(diff) = diff.filter(|_| !summary) {
                text.push_str(diff);
            }
        }
        let (added, removed, changed) = self.counts();
        let _ = writeln!(text, "{added} added, {removed} removed, {changed} changed, {} unchanged", self.unchanged);
        text
    }

    /// `{"added": [key...], "removed": [key...], "changed": [{key..., "diff": "..."}...], "unchanged": N}`, pretty
    /// and ending in a newline, a key being `{"group", "kind", "namespace", "name"}` or `{"file", "index"}`; without
    /// the diffs when `summary`.
    pub fn json(&self, summary: bool) -> String {
        #[derive(Serialize)]
        struct Changed<'a> {
            #[serde(flatten)]
            key: &'a ObjectKey,
            #[serde(skip_serializing_if = "Option::is_none")]
            diff: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct Json<'a> {
            added: Vec<&'a ObjectKey>,
            removed: Vec<&'a ObjectKey>,
            changed: Vec<Changed<'a>>,
            unchanged: usize,
        }
        let mut json = Json { added: Vec::new(), removed: Vec::new(), changed: Vec::new(), unchanged: self.unchanged };
        for (key, change) in &self.differences {
            match change {
                Change::Added => json.added.push(key),
                Change::Removed => json.removed.push(key),
                Change::Changed(diff) => {
                    json.changed.push(Changed { key, diff: (!summary).then_some(diff.as_str()) });
                }
            }
        }
        // Plain data of strings and numbers: serializing cannot fail.
        serde_json::to_string_pretty(&json).map(|text| text + "\n").unwrap_or_default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config_map(name: &str, value: &str) -> (ObjectKey, Document) {
        let key = ObjectKey::Object {
            group: String::new(),
            kind: "ConfigMap".to_owned(),
            namespace: "default".to_owned(),
            name: name.to_owned(),
        };
        let text = format!(
            "apiVersion: v1\ndata:\n  a: \"1\"\n  b: \"2\"\n  c: {value}\n  d: \"4\"\n  e: \"5\"\n  f: \"6\"\n  g: \"7\"\n  h: \"8\"\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\n"
        );
        (key, Document { file: "manifests.yaml".to_owned(), text })
    }

    fn revision(objects: &[(&str, &str)]) -> BTreeMap<ObjectKey, Document> {
        objects.iter().map(|(name, value)| config_map(name, value)).collect()
    }

    #[test]
    fn each_object_is_added_removed_changed_or_unchanged() {
        type Revision<'a> = &'a [(&'a str, &'a str)];
        let cases: [(&str, Revision<'_>, Revision<'_>, &str); 5] = [
            ("same", &[("a", "x")], &[("a", "x")], "0 added, 0 removed, 0 changed, 1 unchanged\n"),
            ("added", &[], &[("a", "x")], "+ ConfigMap default/a\n1 added, 0 removed"),
            ("removed", &[("a", "x")], &[], "- ConfigMap default/a\n0 added, 1 removed"),
            ("changed", &[("a", "x")], &[("a", "y")], "~ ConfigMap default/a\n--- a/manifests.yaml\n"),
            ("empty", &[], &[], "0 added, 0 removed, 0 changed, 0 unchanged\n"),
        ];
        for (case, from, to, expected) in cases {
            let report = compare(&revision(from), &revision(to));
            let text = report.text(false);
            assert!(text.contains(expected), "{case}: {text}");
            assert_eq!(report.has_differences(), !matches!(case, "same" | "empty"), "{case}");
        }
    }

    #[test]
    fn a_change_is_a_unified_diff_with_three_lines_of_context_sorted_by_key() {
        let report = compare(&revision(&[("b", "x"), ("c", "x"), ("d", "x")]), &revision(&[("a", "x"), ("b", "y")]));
        let expected = "\
+ ConfigMap default/a
~ ConfigMap default/b
--- a/manifests.yaml
+++ b/manifests.yaml
@@ -2,7 +2,7 @@
 data:
   a: \"1\"
   b: \"2\"
-  c: x
+  c: y
   d: \"4\"
   e: \"5\"
   f: \"6\"
- ConfigMap default/c
- ConfigMap default/d
1 added, 2 removed, 1 changed, 0 unchanged
";
        assert_eq!(report.text(false), expected);
        let summary = "+ ConfigMap default/a\n~ ConfigMap default/b\n- ConfigMap default/c\n- ConfigMap default/d\n";
        assert_eq!(report.text(true), format!("{summary}1 added, 2 removed, 1 changed, 0 unchanged\n"));
    }

    #[test]
    fn json_lists_keys_and_diffs() {
        let report = compare(&revision(&[("a", "x"), ("b", "x"), ("c", "x")]), &revision(&[("b", "y"), ("c", "x")]));
        let key = |name: &str| json!({"group": "", "kind": "ConfigMap", "namespace": "default", "name": name});
        let (_, Change::Changed(diff)) = &report.differences[1] else { panic!("{report:?}") };
        let mut changed = key("b");
        changed["diff"] = json!(diff);
        let expected = json!({"added": [], "removed": [key("a")], "changed": [changed], "unchanged": 1});
        let parse = |text: String| serde_json::from_str::<serde_json::Value>(&text).unwrap();
        assert_eq!(parse(report.json(false)), expected);
        let summary = json!({"added": [], "removed": [key("a")], "changed": [key("b")], "unchanged": 1});
        assert_eq!(parse(report.json(true)), summary);
        let position = ObjectKey::Document { file: "x.yaml".to_owned(), index: 2 };
        assert_eq!(serde_json::to_value(position).unwrap(), json!({"file": "x.yaml", "index": 2}));
    }
}
