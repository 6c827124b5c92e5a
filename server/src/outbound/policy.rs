//! The outbound policy: which places the server may fetch from. It parses
//! the operator's rules (`BTY_OUTBOUND_ALLOW`, `BTY_OUTBOUND_DENY`) and
//! decides about one destination; it does no I/O. The client asks it about
//! each request's URL before sending and at every redirect hop, and its
//! resolver asks again about every address a host name resolves to, so the
//! answer holds for the address actually connected to.
//!
//! A rule is `[scheme://][host][:port]` with at least one part: a host
//! name (`images.lab`), names under a domain (`*.lab.example`), an address
//! or range (`127.0.0.1`, `10.0.0.0/8`, `fe80::/10`, `[::1]` with a port),
//! a port alone (`:25`), a scheme alone (`http://`), or a combination
//! (`https://*.lab.example:8443`). A rule matches a destination when every
//! part it has matches. Deny wins over allow; with an allow list, nothing
//! else is reached; without one, the built-in rules refuse link-local,
//! unspecified and cloud metadata addresses and names.

use std::{
    fmt,
    net::{IpAddr, SocketAddr},
    str::FromStr,
};

use ipnet::IpNet;
use reqwest::Url;

/// What the built-in rules refuse when `BTY_OUTBOUND_ALLOW` is not set:
/// link-local addresses (where cloud metadata services listen), the
/// unspecified addresses (which reach the local host), the metadata
/// services of AWS over IPv6 and of Alibaba Cloud, and the metadata host
/// names of Google Cloud and AWS.
pub const BUILT_IN_RULES: [&str; 11] = [
    "169.254.0.0/16",
    "fe80::/10",
    "0.0.0.0",
    "::",
    "fd00:ec2::254",
    "100.100.100.200",
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "instance-data",
    "instance-data.ec2.internal",
];

/// How rules are written, for error messages and help.
const RULE_SYNTAX: &str = "a rule is a host (images.lab), *.domain, an IP or CIDR \
    (10.0.0.0/8, [::1]), any of these with :port, a :port alone, or http:// or https://, \
    alone or in front (https://*.lab:8443)";

/// One rule of an allow or deny list, as the operator wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    text: String,
    scheme: Option<Scheme>,
    host: Option<HostPattern>,
    port: Option<u16>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum HostPattern {
    /// `images.lab`: that name (lower case, no trailing dot).
    Name(String),
    /// `*.lab.example`: names under the domain, kept as `.lab.example`.
    Under(String),
    /// `10.0.0.0/8`, `127.0.0.1`: addresses in the range.
    Net(IpNet),
}

/// A rule that does not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid outbound rule {item:?}: {why} ({RULE_SYNTAX})")]
pub struct RuleError {
    pub item: String,
    pub why: &'static str,
}

impl FromStr for Rule {
    type Err = RuleError;

    fn from_str(item: &str) -> Result<Self, Self::Err> {
        Rule::parse(item)
    }
}

impl Rule {
    /// Parses one rule (surrounding white space is ignored).
    pub fn parse(item: &str) -> Result<Rule, RuleError> {
        let text = item.trim();
        let fail = |why| RuleError {
            item: text.to_owned(),
            why,
        };
        if text.is_empty() {
            return Err(fail("the rule is empty"));
        }
        let (scheme, rest) = match text.split_once("://") {
            Some((scheme, rest)) => {
                let scheme = match scheme.to_ascii_lowercase().as_str() {
                    "http" => Scheme::Http,
                    "https" => Scheme::Https,
                    _ => return Err(fail("only http:// and https:// are fetched")),
                };
                (Some(scheme), rest)
            }
            None => (None, text),
        };
        let (host, port) = split_host_port(rest).map_err(fail)?;
        let host = host.map(parse_host).transpose().map_err(fail)?;
        let port = port.map(parse_port).transpose().map_err(fail)?;
        if scheme.is_none() && host.is_none() && port.is_none() {
            return Err(fail("the rule names nothing"));
        }
        Ok(Rule {
            text: text.to_owned(),
            scheme,
            host,
            port,
        })
    }

    /// Whether the rule matches `to`: `None` when that depends on the
    /// address a name resolves to, which is not known yet.
    fn matches(&self, to: &Destination) -> Option<bool> {
        if self
            .scheme
            .is_some_and(|scheme| scheme.as_str() != to.scheme)
        {
            return Some(false);
        }
        if self.port.is_some_and(|port| port != to.port) {
            return Some(false);
        }
        match &self.host {
            None => Some(true),
            Some(HostPattern::Name(name)) => {
                Some(to.name.is_some_and(|n| n.eq_ignore_ascii_case(name)))
            }
            Some(HostPattern::Under(suffix)) => Some(to.name.is_some_and(|n| {
                let (n, suffix) = (n.as_bytes(), suffix.as_bytes());
                n.len() > suffix.len() && n[n.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
            })),
            Some(HostPattern::Net(net)) => to.ip.map(|ip| net.contains(&ip)),
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A comma-separated list of rules, as a setting holds it. Empty items
/// are skipped, so an empty value (`BTY_OUTBOUND_ALLOW=`) is no list and a
/// trailing comma is harmless.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rules(pub Vec<Rule>);

impl Rules {
    /// Parses `a,b,c`; the error names the first rule that does not parse.
    pub fn parse(list: &str) -> Result<Rules, RuleError> {
        list.split(',')
            .filter(|item| !item.trim().is_empty())
            .map(Rule::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(Rules)
    }
}

impl FromStr for Rules {
    type Err = RuleError;

    fn from_str(list: &str) -> Result<Self, Self::Err> {
        Rules::parse(list)
    }
}

/// `host[:port]`, `[v6]:port`, a bare IPv6 address or range, or `:port`.
fn split_host_port(rest: &str) -> Result<(Option<&str>, Option<&str>), &'static str> {
    if rest.is_empty() {
        return Ok((None, None));
    }
    if let Some(bracketed) = rest.strip_prefix('[') {
        let (inside, after) = bracketed
            .split_once(']')
            .ok_or("an IPv6 address opened with [ is not closed with ]")?;
        if !inside.contains(':') {
            return Err("only IPv6 addresses are written in [ ]");
        }
        return match after {
            "" => Ok((Some(inside), None)),
            after => match after.strip_prefix(':') {
                Some(port) => Ok((Some(inside), Some(port))),
                None => Err("only :port may follow ]"),
            },
        };
    }
    if rest.matches(':').count() > 1 {
        // An IPv6 address or range without a port.
        return Ok((Some(rest), None));
    }
    if let Some(port) = rest.strip_prefix(':') {
        return Ok((None, Some(port)));
    }
    match rest.split_once(':') {
        Some((host, port)) => Ok((Some(host), Some(port))),
        None => Ok((Some(rest), None)),
    }
}

fn parse_port(port: &str) -> Result<u16, &'static str> {
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err("a port is a number from 1 to 65535");
    }
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err("a port is a number from 1 to 65535"),
        Ok(port) => Ok(port),
    }
}

fn parse_host(host: &str) -> Result<HostPattern, &'static str> {
    if let Some((address, _)) = host.split_once('/') {
        if address.parse::<IpAddr>().is_err() {
            return Err("paths are not part of a rule");
        }
        let net = host
            .parse::<IpNet>()
            .map_err(|_| "not a CIDR range (10.0.0.0/8, fe80::/10)")?;
        return Ok(HostPattern::Net(canonical_net(net)));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(HostPattern::Net(canonical_net(IpNet::from(ip))));
    }
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    let (under, name) = match name.strip_prefix("*.") {
        Some(domain) => (true, domain.to_owned()),
        None => (false, name),
    };
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if name.is_empty() || name.len() > 253 || !name.split('.').all(label_ok) {
        return Err("not a host name, *.domain, IP address or CIDR range");
    }
    // URLs read `127.1` or `10.1.258` as IPv4 addresses; a rule must not
    // look like a name that never matches.
    if name
        .rsplit('.')
        .next()
        .is_some_and(|last| last.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("write an IPv4 address as four decimal numbers (a.b.c.d)");
    }
    Ok(if under {
        HostPattern::Under(format!(".{name}"))
    } else {
        HostPattern::Name(name)
    })
}

/// `::ffff:a.b.c.d` ranges as the IPv4 ranges they are.
fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.addr().to_ipv4_mapped() {
            Some(v4) => ipnet::Ipv4Net::new(v4, v6.prefix_len() - 96)
                .map(IpNet::V4)
                .unwrap_or(net),
            None => net,
        },
        other => other,
    }
}

/// Where a request goes, as far as it is known.
#[derive(Clone, Copy, Debug)]
pub struct Destination<'a> {
    /// `http` or `https`.
    pub scheme: &'a str,
    /// The URL's host name, without a trailing dot; `None` when the URL
    /// names an address.
    pub name: Option<&'a str>,
    /// The URL's address, or the one its name resolved to; `None` until
    /// the name is resolved.
    pub ip: Option<IpAddr>,
    pub port: u16,
}

impl<'a> Destination<'a> {
    /// The destination of an http(s) URL before its name is resolved;
    /// `None` for other schemes (which the client does not fetch).
    pub fn of_url(url: &'a Url) -> Option<Self> {
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return None;
        }
        let host = url.host_str()?;
        let port = url.port_or_known_default()?;
        let literal = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(v6) => v6.parse::<IpAddr>().ok(),
            None => host.parse::<IpAddr>().ok(),
        };
        Some(Destination {
            scheme,
            name: literal.is_none().then(|| host.trim_end_matches('.')),
            ip: literal.map(|ip| ip.to_canonical()),
            port,
        })
    }

    /// The same destination at an address its name resolved to.
    pub fn at(self, ip: IpAddr) -> Self {
        Destination {
            ip: Some(ip.to_canonical()),
            ..self
        }
    }
}

/// The list a refusal comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum List {
    Allow,
    Deny,
    BuiltIn,
}

impl List {
    /// `BTY_OUTBOUND_ALLOW`, `BTY_OUTBOUND_DENY`, `built-in`.
    pub fn name(self) -> &'static str {
        match self {
            List::Allow => "BTY_OUTBOUND_ALLOW",
            List::Deny => "BTY_OUTBOUND_DENY",
            List::BuiltIn => "built-in",
        }
    }
}

/// Why a destination is refused: a deny or built-in rule that matches it,
/// or an allow list none of whose rules does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub list: List,
    /// The rule as written; `None` for an allow list that does not admit.
    pub rule: Option<String>,
}

/// A request the policy refused: nothing was sent to the refused place.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct Refused {
    /// The URL, without credentials, query or fragment.
    pub url: String,
    /// The address its name resolved to, or the one it names.
    pub address: Option<SocketAddr>,
    pub refusal: Refusal,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rule = self.refusal.rule.as_deref().unwrap_or_default();
        match self.refusal.list {
            List::Deny => write!(f, "refused by BTY_OUTBOUND_DENY rule {rule:?}: ")?,
            List::Allow => write!(f, "refused by BTY_OUTBOUND_ALLOW (no rule admits it): ")?,
            List::BuiltIn => write!(
                f,
                "refused by the built-in rule {rule:?} (link-local, unspecified and cloud \
                 metadata addresses; BTY_OUTBOUND_ALLOW replaces the built-in rules): "
            )?,
        }
        f.write_str(&self.url)?;
        if let Some(address) = self.address {
            write!(f, " connects to {address}")?;
        }
        Ok(())
    }
}

/// The allow and deny lists, and the built-in rules.
#[derive(Clone, Debug)]
pub struct Policy {
    allow: Vec<Rule>,
    deny: Vec<Rule>,
    built_in: Vec<Rule>,
}

impl Default for Policy {
    /// No lists: only the built-in rules.
    fn default() -> Self {
        Policy::new(Rules::default(), Rules::default())
    }
}

impl Policy {
    /// A policy over the operator's lists; an empty allow list is no allow
    /// list.
    pub fn new(Rules(allow): Rules, Rules(deny): Rules) -> Self {
        let built_in = BUILT_IN_RULES
            .iter()
            .filter_map(|rule| Rule::parse(rule).ok())
            .collect();
        Policy {
            allow,
            deny,
            built_in,
        }
    }

    /// Decides about `to`. Before its name is resolved, only what is known
    /// counts: a deny rule that needs the address does not match yet, an
    /// allow rule that needs it may still match.
    pub fn decide(&self, to: &Destination) -> Result<(), Refusal> {
        let refused = |list, rule: &Rule| Refusal {
            list,
            rule: Some(rule.text.clone()),
        };
        if let Some(rule) = self.deny.iter().find(|r| r.matches(to) == Some(true)) {
            return Err(refused(List::Deny, rule));
        }
        if self.allow.is_empty() {
            return match self.built_in.iter().find(|r| r.matches(to) == Some(true)) {
                Some(rule) => Err(refused(List::BuiltIn, rule)),
                None => Ok(()),
            };
        }
        if self.allow.iter().any(|r| r.matches(to) != Some(false)) {
            Ok(())
        } else {
            Err(Refusal {
                list: List::Allow,
                rule: None,
            })
        }
    }

    /// Checks a request's URL (or a redirect's) before anything is sent:
    /// scheme, port, host name, and a literal address. A host name is
    /// checked again at each address it resolves to ([`Policy::check_address`]).
    pub fn check_url(&self, url: &Url) -> Result<(), Refused> {
        let Some(to) = Destination::of_url(url) else {
            return Ok(());
        };
        self.decide(&to).map_err(|refusal| Refused {
            url: shown(url),
            address: to.ip.map(|ip| SocketAddr::new(ip, to.port)),
            refusal,
        })
    }

    /// Checks the address `ip` that `url`'s host name resolved to.
    pub fn check_address(&self, url: &Url, ip: IpAddr) -> Result<(), Refused> {
        let Some(to) = Destination::of_url(url) else {
            return Ok(());
        };
        self.decide(&to.at(ip)).map_err(|refusal| Refused {
            url: shown(url),
            address: Some(SocketAddr::new(ip.to_canonical(), to.port)),
            refusal,
        })
    }
}

/// A URL as messages and events show it: no credentials, query or fragment
/// (a presigned redirect carries its signature in the query).
fn shown(url: &Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(items: &[&str]) -> Rules {
        Rules(
            items
                .iter()
                .map(|item| Rule::parse(item).expect(item))
                .collect(),
        )
    }

    fn url(text: &str) -> Url {
        Url::parse(text).expect(text)
    }

    /// The decision about `url` connecting to `ip` (or to its literal address).
    fn decide(policy: &Policy, text: &str, ip: Option<&str>) -> Result<(), Refusal> {
        let url = url(text);
        let to = Destination::of_url(&url).expect("an http(s) URL");
        match ip {
            Some(ip) => policy.decide(&to.at(ip.parse().expect(ip))),
            None => policy.decide(&to),
        }
    }

    fn deny(rule: &str) -> Result<(), Refusal> {
        Err(Refusal {
            list: List::Deny,
            rule: Some(rule.to_owned()),
        })
    }

    fn built_in(rule: &str) -> Result<(), Refusal> {
        Err(Refusal {
            list: List::BuiltIn,
            rule: Some(rule.to_owned()),
        })
    }

    const NOT_ALLOWED: Result<(), Refusal> = Err(Refusal {
        list: List::Allow,
        rule: None,
    });

    #[test]
    fn every_kind_of_rule_parses_and_keeps_its_text() {
        for item in [
            "images.lab",
            "*.lab.example",
            "Images.Lab.",
            "10.0.0.0/8",
            "fe80::/10",
            "127.0.0.1",
            "::1",
            "127.0.0.1:8080",
            "[::1]:8080",
            "[fe80::/10]:80",
            "*.lab:443",
            ":25",
            "http://",
            "HTTPS://",
            "https://*.lab.example:8443",
            "http://10.0.0.0/8",
        ] {
            let rule = Rule::parse(&format!("  {item} ")).expect(item);
            assert_eq!(rule.to_string(), item);
        }
        for item in BUILT_IN_RULES {
            Rule::parse(item).expect(item);
        }
    }

    #[test]
    fn a_list_skips_empty_items_and_names_a_bad_one() {
        assert_eq!(Rules::parse(""), Ok(Rules::default()));
        assert_eq!(Rules::parse(" , "), Ok(Rules::default()));
        assert_eq!(Rules::parse("a.lab, :25,"), Ok(rules(&["a.lab", ":25"])));
        let error = Rules::parse("a.lab,bad host,:0").expect_err("invalid");
        assert_eq!(error.item, "bad host");
    }

    #[test]
    fn malformed_rules_say_what_is_wrong() {
        for (item, why) in [
            ("", "the rule is empty"),
            ("ftp://", "only http:// and https:// are fetched"),
            (":0", "a port is a number from 1 to 65535"),
            (":65536", "a port is a number from 1 to 65535"),
            ("host:", "a port is a number from 1 to 65535"),
            (":x", "a port is a number from 1 to 65535"),
            ("10.0.0.0/33", "not a CIDR range (10.0.0.0/8, fe80::/10)"),
            ("[::1", "an IPv6 address opened with [ is not closed with ]"),
            ("[127.0.0.1]:80", "only IPv6 addresses are written in [ ]"),
            ("[::1]80", "only :port may follow ]"),
            ("images.lab/path", "paths are not part of a rule"),
            ("*", "not a host name, *.domain, IP address or CIDR range"),
            (
                "a.*.lab",
                "not a host name, *.domain, IP address or CIDR range",
            ),
            (
                "bad host",
                "not a host name, *.domain, IP address or CIDR range",
            ),
            (
                "127.1",
                "write an IPv4 address as four decimal numbers (a.b.c.d)",
            ),
        ] {
            let error = Rule::parse(item).expect_err(item);
            assert_eq!(error.why, why, "{item:?}");
            assert!(error.to_string().contains(&format!("{item:?}")));
        }
    }

    #[test]
    fn the_built_in_rules_refuse_link_local_metadata_and_unspecified_places_only() {
        let policy = Policy::default();
        let refused = [
            (
                "http://169.254.169.254/latest/meta-data",
                None,
                "169.254.0.0/16",
            ),
            ("http://[fe80::1]/", None, "fe80::/10"),
            ("http://[::ffff:169.254.169.254]/", None, "169.254.0.0/16"),
            ("http://0.0.0.0:8080/", None, "0.0.0.0"),
            ("http://[::]/", None, "::"),
            ("http://[fd00:ec2::254]/", None, "fd00:ec2::254"),
            ("http://100.100.100.200/", None, "100.100.100.200"),
            (
                "http://metadata.google.internal/x",
                None,
                "metadata.google.internal",
            ),
            (
                "http://METADATA.google.internal./x",
                None,
                "metadata.google.internal",
            ),
            ("http://metadata/x", None, "metadata"),
            ("http://instance-data/x", None, "instance-data"),
            (
                "http://lab.example/x",
                Some("169.254.169.254"),
                "169.254.0.0/16",
            ),
        ];
        for (text, ip, rule) in refused {
            assert_eq!(decide(&policy, text, ip), built_in(rule), "{text}");
        }
        for (text, ip) in [
            ("http://127.0.0.1:8080/x", None),
            ("http://[::1]/x", None),
            ("http://10.1.2.3/x", None),
            ("http://192.168.0.10/x", None),
            ("https://images.lab/x", None),
            ("https://images.lab/x", Some("10.0.0.7")),
            ("http://localhost:5000/x", Some("127.0.0.1")),
            ("http://metadata.example/x", None),
        ] {
            assert_eq!(decide(&policy, text, ip), Ok(()), "{text}");
        }
    }

    #[test]
    fn a_deny_rule_with_a_port_refuses_that_port_only_by_address_or_name() {
        let policy = Policy::new(Rules::default(), rules(&["127.0.0.1:41234"]));
        assert_eq!(
            decide(&policy, "http://127.0.0.1:41234/x.img", None),
            deny("127.0.0.1:41234")
        );
        // A name is not refused before it resolves, and is at its address.
        assert_eq!(
            decide(&policy, "http://localhost:41234/x.img", None),
            Ok(())
        );
        assert_eq!(
            decide(&policy, "http://localhost:41234/x.img", Some("127.0.0.1")),
            deny("127.0.0.1:41234")
        );
        assert_eq!(
            decide(&policy, "http://127.0.0.1:41235/x.img", None),
            Ok(())
        );
        // Setting a deny list keeps the built-in rules.
        assert_eq!(
            decide(&policy, "http://169.254.169.254/", None),
            built_in("169.254.0.0/16")
        );
    }

    #[test]
    fn names_schemes_ports_and_ranges_match_as_written() {
        let policy = Policy::new(
            Rules::default(),
            rules(&[
                "*.bad.example",
                "evil.example",
                ":25",
                "http://",
                "10.0.0.0/8:22",
            ]),
        );
        for (text, ip, rule) in [
            ("https://a.bad.example/", None, "*.bad.example"),
            ("https://b.a.BAD.example/", None, "*.bad.example"),
            ("https://evil.example/", None, "evil.example"),
            ("https://ok.example:25/", None, ":25"),
            ("http://ok.example/", None, "http://"),
            ("https://ok.example:22/", Some("10.9.9.9"), "10.0.0.0/8:22"),
        ] {
            assert_eq!(decide(&policy, text, ip), deny(rule), "{text}");
        }
        for (text, ip) in [
            ("https://bad.example/", "10.9.9.9"),
            ("https://notbad.example/", "10.9.9.9"),
            ("https://sub.evil.example/", "10.9.9.9"),
            ("https://ok.example/", "10.9.9.9"),
            ("https://ok.example:22/", "192.168.0.1"),
        ] {
            assert_eq!(decide(&policy, text, Some(ip)), Ok(()), "{text}");
        }
        // A name rule never matches a URL that names an address.
        let policy = Policy::new(Rules::default(), rules(&["localhost"]));
        assert_eq!(decide(&policy, "http://127.0.0.1/", None), Ok(()));
        assert_eq!(
            decide(&policy, "http://localhost/", None),
            deny("localhost")
        );
    }

    #[test]
    fn an_allow_list_admits_only_what_it_names_and_deny_still_wins() {
        let policy = Policy::new(
            rules(&["127.0.0.1:5000", "*.lab.example", "https://10.0.0.0/8"]),
            rules(&["bad.lab.example"]),
        );
        assert_eq!(decide(&policy, "http://127.0.0.1:5000/x", None), Ok(()));
        assert_eq!(
            decide(&policy, "http://127.0.0.1:5001/x", None),
            NOT_ALLOWED
        );
        assert_eq!(decide(&policy, "https://a.lab.example/x", None), Ok(()));
        assert_eq!(
            decide(&policy, "https://bad.lab.example/x", None),
            deny("bad.lab.example")
        );
        assert_eq!(decide(&policy, "https://10.1.1.1/x", None), Ok(()));
        assert_eq!(decide(&policy, "http://10.1.1.1/x", None), NOT_ALLOWED);
        // A name may still resolve into an allowed range: decided at its address.
        assert_eq!(decide(&policy, "https://images.other/x", None), Ok(()));
        assert_eq!(
            decide(&policy, "https://images.other/x", Some("10.2.2.2")),
            Ok(())
        );
        assert_eq!(
            decide(&policy, "https://images.other/x", Some("192.168.1.1")),
            NOT_ALLOWED
        );
        assert_eq!(decide(&policy, "http://images.other/x", None), NOT_ALLOWED);
        // An allow list replaces the built-in rules: what it names is reached.
        let policy = Policy::new(rules(&["169.254.0.0/16"]), Rules::default());
        assert_eq!(decide(&policy, "http://169.254.1.1/x", None), Ok(()));
    }

    #[test]
    fn refusals_name_the_rule_the_list_and_the_address_without_secrets() {
        let policy = Policy::new(Rules::default(), rules(&["127.0.0.1:41234"]));
        let refused = policy
            .check_address(
                &url("http://user:pw@localhost:41234/x.img?X-Signature=s#f"),
                "127.0.0.1".parse().expect("ip"),
            )
            .expect_err("refused");
        assert_eq!(
            refused.to_string(),
            "refused by BTY_OUTBOUND_DENY rule \"127.0.0.1:41234\": \
             http://localhost:41234/x.img connects to 127.0.0.1:41234"
        );
        let refused = Policy::default()
            .check_url(&url("http://169.254.169.254/latest"))
            .expect_err("refused");
        assert!(refused
            .to_string()
            .starts_with("refused by the built-in rule \"169.254.0.0/16\""));
        assert!(refused
            .to_string()
            .ends_with("http://169.254.169.254/latest connects to 169.254.169.254:80"));
        let policy = Policy::new(rules(&[":5000"]), Rules::default());
        let refused = policy
            .check_url(&url("https://images.lab/x"))
            .expect_err("refused");
        assert_eq!(
            refused.to_string(),
            "refused by BTY_OUTBOUND_ALLOW (no rule admits it): https://images.lab/x"
        );
    }
}
