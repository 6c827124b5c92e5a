//! Configuration: the reference's `BTY_*` environment variables, each also a
//! command-line flag, read once in `main` and passed by value.

use std::{net::IpAddr, path::PathBuf};

use clap::Parser;

use crate::outbound::Rule;

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
    #[arg(long, env = "BTY_OUTBOUND_ALLOW", value_delimiter = ',', value_parser = Rule::parse)]
    pub outbound_allow: Vec<Rule>,

    /// Outbound deny list: never fetched from, even when allowed (rules as for BTY_OUTBOUND_ALLOW); without an allow list, link-local, unspecified and cloud metadata addresses and names are refused too.
    #[arg(long, env = "BTY_OUTBOUND_DENY", value_delimiter = ',', value_parser = Rule::parse)]
    pub outbound_deny: Vec<Rule>,

    /// The built site (pkg/bty-web.css and each page's .js and .wasm, see app::Bundle).
    #[arg(long, env = "BTY_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
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
}

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
        let shown = |rules: &[Rule]| rules.iter().map(Rule::to_string).collect::<Vec<_>>();
        assert_eq!(shown(&settings.outbound_deny), ["127.0.0.1:8080", "*.lab"]);
        assert_eq!(shown(&settings.outbound_allow), [":8080"]);
        assert!(parse(&[]).expect("defaults").outbound_allow.is_empty());
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
    }

    #[test]
    fn https_public_url_makes_cookies_secure() {
        let settings = parse(&["--public-url", "https://bty.example.org"]).expect("parses");
        settings.validate().expect("valid");
        assert!(settings.secure_cookies());
        assert!(!parse(&[]).expect("parses").secure_cookies());
    }
}
