//! The `--config` YAML file as a figment layer: a map of flag names to values (`s3-bucket: artifacts`), its keys
//! turned into clap ids (`s3_bucket`) so that they line up with the layers clap produced.

use std::path::{Path, PathBuf};

use figment::value::{Dict, Map};
use figment::{Metadata, Profile, Provider};

/// The flag values in one YAML file, under the default profile. A blank or comments-only file sets nothing.
#[derive(Debug, Clone)]
pub struct FlagFile {
    path: PathBuf,
}

impl FlagFile {
    /// The file at `path`; it is read when figment asks for its data.
    pub fn new(path: &Path) -> Self {
        Self { path: path.to_owned() }
    }
}

impl Provider for FlagFile {
    fn metadata(&self) -> Metadata {
        Metadata::from("config file", self.path.as_path())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let text = std::fs::read_to_string(&self.path).map_err(|e| format!("cannot be read: {e}"))?;
        // A blank or comments-only file is a YAML null: it sets nothing.
        let values: Option<Dict> =
            serde_saphyr::from_str(&text).map_err(|e| format!("is not a YAML map of flag values: {e}"))?;
        let by_clap_id =
            values.unwrap_or_default().into_iter().map(|(key, value)| (key.replace('-', "_"), value)).collect();
        Ok(Profile::Default.collect(by_clap_id))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use figment::Figment;

    use super::*;

    fn values(yaml: &str) -> Result<Dict, String> {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), yaml).unwrap();
        Figment::from(FlagFile::new(file.path())).extract().map_err(|e| e.to_string())
    }

    #[test]
    fn flag_spellings_become_clap_ids_and_blank_files_set_nothing() {
        let dict = values("s3-bucket: artifacts\nstorage_path: /srv\n").unwrap();
        assert_eq!(dict.keys().collect::<Vec<_>>(), ["s3_bucket", "storage_path"]);
        for blank in ["", "  \n\n", "# every flag at its default\n"] {
            assert!(values(blank).unwrap().is_empty(), "{blank:?}");
        }
    }

    #[test]
    fn unreadable_and_non_map_files_say_what_is_wrong() {
        let err = Figment::from(FlagFile::new(Path::new("/nonexistent/jaas.yaml"))).extract::<Dict>().unwrap_err();
        assert!(err.to_string().contains("cannot be read"), "{err}");
        let err = values("- a\n- b\n").unwrap_err();
        assert!(err.contains("is not a YAML map of flag values"), "{err}");
    }
}
