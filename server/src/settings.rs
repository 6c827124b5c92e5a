//! Configuration: the reference's `BTY_*` environment variables, each also a
//! command-line flag, read once in `main` and passed by value.

use std::{net::IpAddr, path::PathBuf};

use clap::Parser;

use crate::outbound::Rules;

/// Default upload cap: 200 GiB, as the reference.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 200 * 1024 * 1024 * 1024;

/// What downloads leave free on the cache's file system by default: 2 GiB,
/// so the system and its logs keep room to work.
pub const DEFAULT_CACHE_MIN_FREE_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// Everything `bty-web` can be configured with.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "bty-web",
    version,
    about = "bty-web images: the catalog of disk images a bare-metal flasher writes"
)]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "BTY_WEB_HOST", default_value = "0.0.0.0")]
    pub web_host: IpAddr,

    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "BTY_WEB_PORT", default_value_t = 8080)]
    pub web_port: u16,

    /// State directory: database, generated admin password, catalog.toml, download cache.
    #[arg(long, env = "BTY_STATE_DIR", default_value = "/var/lib/bty")]
    pub state_dir: PathBuf,

    /// Image root: the operator's image files [default: $BTY_STATE_DIR/images].
    #[arg(long, env = "BTY_IMAGE_ROOT")]
    pub image_root: Option<PathBuf>,

    /// How many images are hashed at once.
    #[arg(long, env = "BTY_HASH_MAX_PARALLEL", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub hash_max_parallel: u32,

    /// How many downloads run at once.
    #[arg(long, env = "BTY_CATALOG_MAX_PARALLEL", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub catalog_max_parallel: u32,

    /// Largest accepted image upload, in bytes.
    #[arg(long, env = "BTY_MAX_UPLOAD_BYTES", default_value_t = DEFAULT_MAX_UPLOAD_BYTES, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_upload_bytes: u64,

    /// Largest uncompressed size an image may decompress to, in bytes (default 4 TiB); past it the image is corrupt.
    #[arg(long, env = "BTY_MAX_UNCOMPRESSED_BYTES", default_value_t = crate::inspect::DEFAULT_MAX_UNCOMPRESSED_SIZE, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_uncompressed_bytes: u64,

    /// Where the imported catalog.toml is kept [default: $BTY_STATE_DIR/catalog.toml].
    #[arg(long, env = "BTY_CATALOG_FILE")]
    pub catalog_file: Option<PathBuf>,

    /// Content-addressed download cache [default: $BTY_STATE_DIR/cache].
    #[arg(long, env = "BTY_CATALOG_CACHE_DIR")]
    pub catalog_cache_dir: Option<PathBuf>,

    /// Most bytes the download cache may hold; least recently used images are evicted to stay under it [default: no quota].
    #[arg(long, env = "BTY_CACHE_MAX_BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub cache_max_bytes: Option<u64>,

    /// Bytes downloads keep free on the cache's file system, evicting least recently used images to do so (0: no floor).
    #[arg(long, env = "BTY_CACHE_MIN_FREE_BYTES", default_value_t = DEFAULT_CACHE_MIN_FREE_BYTES)]
    pub cache_min_free_bytes: u64,

    /// GitHub `owner/repo` whose latest release serves the catalog.toml [default: safl/bty].
    #[arg(long, env = "BTY_BOOT_RELEASE_REPO")]
    pub boot_release_repo: Option<String>,

    /// Database URL: `sqlite://…` or `postgres://…` [default: SQLite at $BTY_STATE_DIR/state.db].
    #[arg(long, env = "BTY_DATABASE_URL")]
    pub database_url: Option<String>,

    /// Public base URL (`https://bty.example.org`): absolute links, and Secure cookies when https.
    #[arg(long, env = "BTY_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// Password for the `admin` operator created on first start [default: generated into $BTY_STATE_DIR/admin-password].
    #[arg(long, env = "BTY_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// Trust the leftmost `X-Forwarded-For` as the client address (behind a reverse proxy).
    #[arg(long, env = "BTY_TRUSTED_PROXY", default_value_t = false)]
    pub trusted_proxy: bool,

    /// Full URL of the release catalog, for mirrors and tests [default: GitHub's latest release of BTY_BOOT_RELEASE_REPO].
    #[arg(long, env = "BTY_RELEASE_CATALOG_URL")]
    pub release_catalog_url: Option<String>,

    /// OCI registries (`host:port`, comma-separated) reached over plain http, e.g. a loopback test registry.
    #[arg(long, env = "BTY_ORAS_INSECURE_REGISTRIES", value_delimiter = ',')]
    pub oras_insecure_registries: Vec<String>,

    /// User name for OCI registries that ask for basic credentials.
    #[arg(long, env = "BTY_ORAS_USERNAME")]
    pub oras_username: Option<String>,

    /// Password for OCI registries that ask for basic credentials.
    #[arg(long, env = "BTY_ORAS_PASSWORD", hide_env_values = true)]
    pub oras_password: Option<String>,

    /// Outbound allow list: only these places are fetched from (comma-separated rules: a host, *.domain, an IP or CIDR, any of them with :port, a :port alone, http:// or https://, or a combination such as https://*.lab:8443) [default: anything the built-in rules and BTY_OUTBOUND_DENY do not refuse].
    #[arg(long, env = "BTY_OUTBOUND_ALLOW", default_value = "", hide_default_value = true, value_parser = Rules::parse)]
    pub outbound_allow: Rules,

    /// Outbound deny list: never fetched from, even when allowed (rules as for BTY_OUTBOUND_ALLOW); without an allow list, link-local, unspecified and cloud metadata addresses and names are refused too.
    #[arg(long, env = "BTY_OUTBOUND_DENY", default_value = "", hide_default_value = true, value_parser = Rules::parse)]
    pub outbound_deny: Rules,

    /// The built site (pkg/bty-web.css and each page's .js and .wasm, see app::Bundle).
    #[arg(long, env = "BTY_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// This replica's name among several on one database, shown on /healthz and in the page footer [default: host name:port].
    #[arg(long, env = "BTY_NODE_ID")]
    pub node_id: Option<String>,

    /// Where image bytes live: unset or `file://` for the local disk (the image root and the download cache), `s3://bucket/prefix` for an S3-compatible object store (needs PostgreSQL).
    #[arg(long, env = "BTY_STORAGE_URL")]
    pub storage_url: Option<String>,

    /// The S3 API's base URL, e.g. `http://127.0.0.1:3900` [default: AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else Amazon's].
    #[arg(long, env = "BTY_S3_ENDPOINT")]
    pub s3_endpoint: Option<String>,

    /// The S3 region [default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1].
    #[arg(long, env = "BTY_S3_REGION")]
    pub s3_region: Option<String>,

    /// The S3 access key id [default: AWS_ACCESS_KEY_ID].
    #[arg(long, env = "BTY_S3_ACCESS_KEY_ID")]
    pub s3_access_key_id: Option<String>,

    /// The S3 secret access key [default: AWS_SECRET_ACCESS_KEY].
    #[arg(long, env = "BTY_S3_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,

    /// The standard AWS names, read as fallbacks of the `BTY_S3_*` ones.
    #[command(flatten)]
    pub aws: AwsEnvironment,

    /// Seconds a replica's claim on a running job lasts without its heartbeat; past it another replica takes the job over (PostgreSQL).
    #[arg(long, env = "BTY_JOB_LEASE_SECONDS", default_value_t = 15, value_parser = clap::value_parser!(u32).range(2..=3600))]
    pub job_lease_seconds: u32,
}

/// The standard `AWS_*` variables, which stand in for unset `BTY_S3_*` ones
/// (see [`Settings::s3`]). Environment only: no flags of their own.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct AwsEnvironment {
    #[arg(long = "aws-endpoint-url-s3", env = "AWS_ENDPOINT_URL_S3", hide = true)]
    pub endpoint_url_s3: Option<String>,
    #[arg(long = "aws-endpoint-url", env = "AWS_ENDPOINT_URL", hide = true)]
    pub endpoint_url: Option<String>,
    #[arg(long = "aws-region", env = "AWS_REGION", hide = true)]
    pub region: Option<String>,
    #[arg(long = "aws-default-region", env = "AWS_DEFAULT_REGION", hide = true)]
    pub default_region: Option<String>,
    #[arg(long = "aws-access-key-id", env = "AWS_ACCESS_KEY_ID", hide = true)]
    pub access_key_id: Option<String>,
    #[arg(
        long = "aws-secret-access-key",
        env = "AWS_SECRET_ACCESS_KEY",
        hide = true,
        hide_env_values = true
    )]
    pub secret_access_key: Option<String>,
}

/// How to reach the S3 store of `BTY_STORAGE_URL=s3://…`, each value from
/// its `BTY_S3_*` setting or else the standard `AWS_*` variable.
#[derive(Clone, Debug, PartialEq)]
pub struct S3Settings {
    pub bucket: String,
    /// The key prefix every object is under, without a trailing `/`; may be empty.
    pub prefix: String,
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
}

/// Where image bytes live (`BTY_STORAGE_URL`).
#[derive(Clone, Debug, PartialEq)]
pub enum StorageUrl {
    /// The local disk, as a single machine keeps them.
    Local,
    /// An S3-compatible object store: the bucket and the key prefix.
    S3 { bucket: String, prefix: String },
}

impl StorageUrl {
    /// Reads a `BTY_STORAGE_URL`; `None` and `""` are the local disk.
    pub fn parse(url: Option<&str>) -> Result<Self, SettingsError> {
        let Some(url) = url.filter(|url| !url.is_empty()) else {
            return Ok(StorageUrl::Local);
        };
        let invalid = || SettingsError::StorageUrl(url.to_owned());
        if let Some(path) = url.strip_prefix("file://") {
            // The directories are the image root's and the cache's own
            // settings; a path here would contradict them.
            return if path.is_empty() || path == "/" {
                Ok(StorageUrl::Local)
            } else {
                Err(SettingsError::FileStorageUrl(url.to_owned()))
            };
        }
        let rest = url.strip_prefix("s3://").ok_or_else(invalid)?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        // S3's bucket naming rules, the part every store shares.
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'))
            && !bucket.starts_with(['-', '.'])
            && !bucket.ends_with(['-', '.']);
        let prefix = prefix.trim_matches('/');
        let prefix_ok = !prefix.contains("//")
            && prefix.split('/').all(|part| part != "." && part != "..")
            && !prefix.chars().any(|c| c.is_control() || c == '\\');
        if !(bucket_ok && prefix_ok) {
            return Err(invalid());
        }
        Ok(StorageUrl::S3 {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
        })
    }
}

/// A value that parsed but makes no sense.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("BTY_BOOT_RELEASE_REPO must look like 'owner/repo', got {0:?}")]
    ReleaseRepo(String),
    #[error("BTY_PUBLIC_URL must be an absolute http:// or https:// URL, got {0:?}")]
    PublicUrl(String),
    #[error("BTY_DATABASE_URL must start with sqlite: or postgres://, got {0:?}")]
    DatabaseUrl(String),
    #[error("BTY_ADMIN_PASSWORD must not be empty")]
    EmptyAdminPassword,
    #[error("BTY_NODE_ID must be 1 to {max} printable characters without spaces, got {0:?}", max = MAX_NODE_ID)]
    NodeId(String),
    #[error("BTY_STORAGE_URL must be file:// or s3://bucket[/prefix] (a bucket of 3 to 63 lower-case letters, digits, '-' and '.'), got {0:?}")]
    StorageUrl(String),
    #[error("BTY_STORAGE_URL={0:?}: file:// takes no path; the local directories are BTY_IMAGE_ROOT and BTY_CATALOG_CACHE_DIR")]
    FileStorageUrl(String),
    #[error("BTY_STORAGE_URL=s3://… needs PostgreSQL (BTY_DATABASE_URL=postgres://…): the replicas sharing a bucket share their rows too, and SQLite is one machine's")]
    S3NeedsPostgres,
}

/// The longest `BTY_NODE_ID`.
const MAX_NODE_ID: usize = 128;

impl Settings {
    /// Checks what clap cannot: shapes of repo names and URLs.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if let Some(repo) = self.boot_release_repo.as_deref().filter(|r| !r.is_empty()) {
            let mut parts = repo.split('/');
            let valid_part = |p: Option<&str>| {
                p.is_some_and(|p| {
                    !p.is_empty()
                        && p != "."
                        && p != ".."
                        && p.chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                })
            };
            if !(valid_part(parts.next()) && valid_part(parts.next()) && parts.next().is_none()) {
                return Err(SettingsError::ReleaseRepo(repo.to_owned()));
            }
        }
        if let Some(url) = &self.public_url {
            let rest = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"));
            if rest.is_none_or(|r| {
                r.is_empty() || r.starts_with('/') || r.contains(char::is_whitespace)
            }) {
                return Err(SettingsError::PublicUrl(url.clone()));
            }
        }
        if let Some(url) = &self.database_url {
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
            {
                return Err(SettingsError::DatabaseUrl(url.clone()));
            }
        }
        if self.admin_password.as_deref() == Some("") {
            return Err(SettingsError::EmptyAdminPassword);
        }
        if let StorageUrl::S3 { .. } = StorageUrl::parse(self.storage_url.as_deref())? {
            let postgres = self.database_url.as_deref().is_some_and(|url| {
                url.starts_with("postgres://") || url.starts_with("postgresql://")
            });
            if !postgres {
                return Err(SettingsError::S3NeedsPostgres);
            }
        }
        if let Some(node) = &self.node_id {
            let printable = node.chars().all(|c| c.is_ascii_graphic());
            if node.is_empty() || node.len() > MAX_NODE_ID || !printable {
                return Err(SettingsError::NodeId(node.clone()));
            }
        }
        Ok(())
    }

    /// Settings for tests and tools: every default, rooted in `state_dir`.
    pub fn for_state_dir(state_dir: impl Into<PathBuf>) -> Self {
        let mut settings = Settings::parse_from(["bty-web"]);
        settings.state_dir = state_dir.into();
        settings
    }

    pub fn image_root(&self) -> PathBuf {
        self.image_root
            .clone()
            .unwrap_or_else(|| self.state_dir.join("images"))
    }

    pub fn catalog_file(&self) -> PathBuf {
        self.catalog_file
            .clone()
            .unwrap_or_else(|| self.state_dir.join("catalog.toml"))
    }

    pub fn cache_dir(&self) -> PathBuf {
        self.catalog_cache_dir
            .clone()
            .unwrap_or_else(|| self.state_dir.join("cache"))
    }

    /// The release repository; an empty value counts as unset (D18).
    pub fn release_repo(&self) -> String {
        self.boot_release_repo
            .clone()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "safl/bty".to_owned())
    }

    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.state_dir.join("state.db").display()
            )
        })
    }

    /// The release catalog's URL: the setting, or GitHub's latest release.
    pub fn release_catalog_url(&self) -> String {
        self.release_catalog_url
            .clone()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| {
                format!(
                    "https://github.com/{}/releases/latest/download/catalog.toml",
                    self.release_repo()
                )
            })
    }

    /// Where image bytes live; [`Settings::validate`] has checked the URL.
    pub fn storage(&self) -> StorageUrl {
        StorageUrl::parse(self.storage_url.as_deref()).unwrap_or(StorageUrl::Local)
    }

    /// How to reach the object store, when bytes live in one.
    pub fn s3(&self) -> Option<S3Settings> {
        let StorageUrl::S3 { bucket, prefix } = self.storage() else {
            return None;
        };
        let first = |values: [&Option<String>; 3]| {
            values
                .into_iter()
                .flatten()
                .find(|value| !value.is_empty())
                .cloned()
        };
        let aws = &self.aws;
        Some(S3Settings {
            bucket,
            prefix,
            endpoint: first([&self.s3_endpoint, &aws.endpoint_url_s3, &aws.endpoint_url]),
            region: first([&self.s3_region, &aws.region, &aws.default_region])
                .unwrap_or_else(|| "us-east-1".to_owned()),
            access_key_id: first([&self.s3_access_key_id, &aws.access_key_id, &None]),
            secret_access_key: first([&self.s3_secret_access_key, &aws.secret_access_key, &None]),
        })
    }

    /// Where a generated admin password is written.
    pub fn admin_password_file(&self) -> PathBuf {
        self.state_dir.join("admin-password")
    }

    /// Cookies get `Secure` when the public URL is https.
    pub fn secure_cookies(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Settings, clap::Error> {
        Settings::try_parse_from(std::iter::once("bty-web").chain(args.iter().copied()))
    }

    #[test]
    fn outbound_rules_are_comma_separated_and_a_bad_one_is_named() {
        let settings = parse(&[
            "--outbound-deny",
            "127.0.0.1:8080, *.lab",
            "--outbound-allow",
            ":8080",
        ])
        .expect("valid rules");
        let shown = |Rules(rules): &Rules| rules.iter().map(|r| r.to_string()).collect::<Vec<_>>();
        assert_eq!(shown(&settings.outbound_deny), ["127.0.0.1:8080", "*.lab"]);
        assert_eq!(shown(&settings.outbound_allow), [":8080"]);
        assert_eq!(
            parse(&[]).expect("defaults").outbound_allow,
            Rules::default()
        );
        let empty =
            parse(&["--outbound-allow", "", "--outbound-deny", " , "]).expect("empty lists");
        assert_eq!(
            (empty.outbound_allow, empty.outbound_deny),
            Default::default()
        );
        let error = parse(&["--outbound-deny", "10.0.0.0/8,bad host"]).expect_err("invalid");
        let message = error.to_string();
        assert!(message.contains("--outbound-deny"), "{message}");
        assert!(
            message.contains(r#"invalid outbound rule "bad host""#),
            "{message}"
        );
    }

    #[test]
    fn defaults_match_the_reference() {
        let settings = parse(&[]).expect("defaults parse");
        assert_eq!(settings.web_port, 8080);
        assert_eq!(settings.hash_max_parallel, 1);
        assert_eq!(settings.max_uncompressed_bytes, 4 << 40);
        assert_eq!(settings.catalog_max_parallel, 2);
        assert_eq!(settings.max_upload_bytes, 214_748_364_800);
        assert_eq!(settings.cache_max_bytes, None, "no quota unless set");
        assert_eq!(settings.cache_min_free_bytes, 2 << 30);
        assert_eq!(settings.image_root(), PathBuf::from("/var/lib/bty/images"));
        assert_eq!(settings.release_repo(), "safl/bty");
        assert_eq!(
            settings.database_url(),
            "sqlite:///var/lib/bty/state.db?mode=rwc"
        );
        settings.validate().expect("defaults are valid");
    }

    #[test]
    fn zero_or_non_numeric_parallelism_is_refused() {
        assert!(parse(&["--hash-max-parallel", "0"]).is_err());
        assert!(parse(&["--catalog-max-parallel", "two"]).is_err());
        assert!(parse(&["--max-upload-bytes", "0"]).is_err());
        assert!(parse(&["--cache-max-bytes", "0"]).is_err());
        assert!(parse(&["--cache-max-bytes", "10GB"]).is_err());
        assert!(parse(&["--cache-min-free-bytes", "-1"]).is_err());
        assert!(parse(&["--web-host", "not-an-ip"]).is_err());
    }

    #[test]
    fn an_empty_release_repo_means_the_default() {
        let settings = parse(&["--boot-release-repo", ""]).expect("parses");
        settings.validate().expect("empty is unset");
        assert_eq!(settings.release_repo(), "safl/bty");
    }

    #[test]
    fn malformed_values_are_named_in_the_error() {
        let settings = parse(&["--boot-release-repo", "no-slash"]).expect("parses");
        let error = settings.validate().expect_err("must fail").to_string();
        assert!(error.contains("no-slash"), "{error}");
        let settings = parse(&["--public-url", "ftp://x"]).expect("parses");
        assert!(settings.validate().is_err());
        let settings = parse(&["--database-url", "mysql://x"]).expect("parses");
        assert!(settings.validate().is_err());
        for bad in ["", "two words", "tab\there"] {
            let settings = parse(&["--node-id", bad]).expect("parses");
            let error = settings.validate().expect_err("must fail").to_string();
            assert!(error.contains("BTY_NODE_ID"), "{error}");
        }
        let settings = parse(&["--node-id", "web-2.example:8080"]).expect("parses");
        settings.validate().expect("a host:port name is valid");
    }

    #[test]
    fn bytes_live_on_the_local_disk_or_in_a_bucket() {
        for local in [None, Some(""), Some("file://"), Some("file:///")] {
            assert_eq!(StorageUrl::parse(local).expect("valid"), StorageUrl::Local);
        }
        assert_eq!(
            StorageUrl::parse(Some("s3://bty-images/lab/a/")).expect("valid"),
            StorageUrl::S3 {
                bucket: "bty-images".into(),
                prefix: "lab/a".into()
            }
        );
        assert_eq!(
            StorageUrl::parse(Some("s3://bty.images")).expect("valid"),
            StorageUrl::S3 {
                bucket: "bty.images".into(),
                prefix: String::new()
            }
        );
        for bad in [
            "s3://",
            "s3://ab",
            "s3://Bty-Images",
            "s3://-bty",
            "s3://bty_images",
            "s3://bty-images/a/../b",
            "s3://bty-images/a//b",
            "gs://bty-images",
            "/srv/bty",
        ] {
            let error = StorageUrl::parse(Some(bad)).expect_err(bad).to_string();
            assert!(error.contains("s3://bucket[/prefix]"), "{bad}: {error}");
        }
        let error = StorageUrl::parse(Some("file:///srv/bty"))
            .expect_err("a path")
            .to_string();
        assert!(error.contains("BTY_IMAGE_ROOT"), "{error}");
    }

    #[test]
    fn an_object_store_is_refused_without_postgresql() {
        for database in [None, Some("sqlite:///var/lib/bty/state.db")] {
            let mut args = vec!["--storage-url", "s3://bty-images"];
            if let Some(url) = database {
                args.extend(["--database-url", url]);
            }
            let error = parse(&args)
                .expect("parses")
                .validate()
                .expect_err("S3 on SQLite")
                .to_string();
            assert!(error.contains("needs PostgreSQL"), "{error}");
        }
        let settings = parse(&[
            "--storage-url",
            "s3://bty-images",
            "--database-url",
            "postgres://bty@127.0.0.1/bty",
        ])
        .expect("parses");
        settings.validate().expect("S3 with PostgreSQL");
        let error = parse(&["--storage-url", "s3://x"])
            .expect("parses")
            .validate()
            .expect_err("a bad bucket")
            .to_string();
        assert!(error.contains("BTY_STORAGE_URL"), "{error}");
    }

    #[test]
    fn the_object_store_settings_fall_back_to_the_aws_names() {
        let base = [
            "--storage-url",
            "s3://bty-images/lab",
            "--database-url",
            "postgres://bty@127.0.0.1/bty",
            "--aws-endpoint-url",
            "http://127.0.0.1:3900",
            "--aws-region",
            "garage",
            "--aws-access-key-id",
            "GKfromaws",
            "--aws-secret-access-key",
            "secret-from-aws",
        ];
        let s3 = parse(&base).expect("parses").s3().expect("an object store");
        assert_eq!(
            s3,
            S3Settings {
                bucket: "bty-images".into(),
                prefix: "lab".into(),
                endpoint: Some("http://127.0.0.1:3900".into()),
                region: "garage".into(),
                access_key_id: Some("GKfromaws".into()),
                secret_access_key: Some("secret-from-aws".into()),
            }
        );
        let mut ours = base.to_vec();
        ours.extend([
            "--s3-endpoint",
            "http://127.0.0.1:3999",
            "--s3-region",
            "lab",
            "--s3-access-key-id",
            "GKours",
            "--s3-secret-access-key",
            "our-secret",
        ]);
        let s3 = parse(&ours).expect("parses").s3().expect("an object store");
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:3999"));
        assert_eq!(s3.region, "lab");
        assert_eq!(s3.access_key_id.as_deref(), Some("GKours"));
        assert_eq!(s3.secret_access_key.as_deref(), Some("our-secret"));
        assert_eq!(parse(&[]).expect("parses").s3(), None);
    }

    #[test]
    fn job_leases_last_seconds_to_an_hour() {
        assert_eq!(parse(&[]).expect("parses").job_lease_seconds, 15);
        assert!(parse(&["--job-lease-seconds", "1"]).is_err());
        assert!(parse(&["--job-lease-seconds", "3601"]).is_err());
        assert_eq!(
            parse(&["--job-lease-seconds", "5"])
                .expect("parses")
                .job_lease_seconds,
            5
        );
    }

    #[test]
    fn https_public_url_makes_cookies_secure() {
        let settings = parse(&["--public-url", "https://bty.example.org"]).expect("parses");
        settings.validate().expect("valid");
        assert!(settings.secure_cookies());
        assert!(!parse(&[]).expect("parses").secure_cookies());
    }
}
