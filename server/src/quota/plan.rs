//! The pure core of making room: given the limits, the space now, what a
//! download still needs and the images that may go (least recently used
//! first), which to evict and why, or why no eviction is enough. Nothing
//! is evicted unless the download then fits.

use app::components::format::format_bytes;

/// What the cache must stay within.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `BTY_CACHE_MAX_BYTES`: none is no quota.
    pub max_bytes: Option<u64>,
    /// `BTY_CACHE_MIN_FREE_BYTES`: what the file system keeps free.
    pub min_free_bytes: u64,
}

/// The cache's space as one room decision sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Space {
    /// Counted against the quota: every file in the cache, partial ones
    /// included, and what other running downloads will still write.
    pub used: u64,
    /// Free on the file system, less what other running downloads will
    /// still write; none when it cannot be read (then there is no floor).
    pub free: Option<u64>,
}

/// A cached image that may be evicted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub sha256: String,
    /// What it takes on disk, freed by evicting it.
    pub bytes: u64,
    /// Its last use (a client read it, or it was downloaded), in
    /// microseconds since the epoch.
    pub last_used_us: i64,
}

/// Which limit an eviction serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    Quota,
    FreeSpace,
}

impl Reason {
    /// The name events and metrics carry.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Quota => "quota",
            Reason::FreeSpace => "free_space",
        }
    }
}

/// Why no eviction makes room: the limit that stays short, and by how much.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shortfall {
    /// Even with every evictable image gone, `used + need` passes `max`.
    Quota { need: u64, max: u64, left: u64 },
    /// Even with every evictable image gone, writing `need` leaves less than
    /// `min_free` free; `free` is what there would be before writing.
    FreeSpace { need: u64, free: u64, min_free: u64 },
}

impl Shortfall {
    /// What it says, before what holds the space.
    pub fn describe(&self) -> String {
        match *self {
            Shortfall::Quota { need, max, left } => format!(
                "it needs {} more and the quota (BTY_CACHE_MAX_BYTES = {}) leaves {} \
                 even after evicting every image that may go",
                format_bytes(need),
                format_bytes(max),
                format_bytes(left)
            ),
            Shortfall::FreeSpace {
                need,
                free,
                min_free,
            } => format!(
                "it needs {} more and the file system would have {} free even after evicting \
                 every image that may go, of which BTY_CACHE_MIN_FREE_BYTES keeps {}",
                format_bytes(need),
                format_bytes(free),
                format_bytes(min_free)
            ),
        }
    }
}

/// The evictions that make room for `need` more bytes, least recently used
/// first, each with the limit it serves; or the limit no eviction satisfies.
pub fn plan(
    limits: Limits,
    space: Space,
    need: u64,
    mut candidates: Vec<Candidate>,
) -> Result<Vec<(Candidate, Reason)>, Shortfall> {
    candidates.sort_by(|a, b| (a.last_used_us, &a.sha256).cmp(&(b.last_used_us, &b.sha256)));
    let over_quota = |used: u64| {
        limits
            .max_bytes
            .is_some_and(|max| used.saturating_add(need) > max)
    };
    let short_of_free = |free: Option<u64>| {
        free.is_some_and(|free| free < need.saturating_add(limits.min_free_bytes))
    };
    let (mut used, mut free) = (space.used, space.free);
    let mut evictions = Vec::new();
    for candidate in candidates {
        let reason = if over_quota(used) {
            Reason::Quota
        } else if short_of_free(free) {
            Reason::FreeSpace
        } else {
            break;
        };
        used = used.saturating_sub(candidate.bytes);
        free = free.map(|free| free.saturating_add(candidate.bytes));
        evictions.push((candidate, reason));
    }
    if let (true, Some(max)) = (over_quota(used), limits.max_bytes) {
        return Err(Shortfall::Quota {
            need,
            max,
            left: max.saturating_sub(used),
        });
    }
    if let (true, Some(free)) = (short_of_free(free), free) {
        return Err(Shortfall::FreeSpace {
            need,
            free,
            min_free: limits.min_free_bytes,
        });
    }
    Ok(evictions)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    fn image(name: char, mib: u64, last_used_us: i64) -> Candidate {
        Candidate {
            sha256: name.to_string().repeat(64),
            bytes: mib * MIB,
            last_used_us,
        }
    }

    fn quota(max_mib: u64) -> Limits {
        Limits {
            max_bytes: Some(max_mib * MIB),
            min_free_bytes: 0,
        }
    }

    fn shas(evictions: &[(Candidate, Reason)]) -> Vec<(char, Reason)> {
        evictions
            .iter()
            .map(|(c, reason)| (c.sha256.chars().next().unwrap_or('?'), *reason))
            .collect()
    }

    #[test]
    fn what_fits_evicts_nothing() {
        let space = Space {
            used: 20 * MIB,
            free: Some(1 << 40),
        };
        let candidates = vec![image('a', 10, 1), image('b', 10, 2)];
        assert_eq!(plan(quota(40), space, 20 * MIB, candidates), Ok(vec![]));
        let unlimited = Limits {
            max_bytes: None,
            min_free_bytes: 0,
        };
        let full = Space {
            used: u64::MAX / 2,
            free: None,
        };
        assert_eq!(plan(unlimited, full, u64::MAX / 4, vec![]), Ok(vec![]));
    }

    #[test]
    fn the_least_recently_used_go_first_and_only_as_many_as_needed() {
        let space = Space {
            used: 30 * MIB,
            free: Some(1 << 40),
        };
        let candidates = vec![image('c', 10, 30), image('a', 10, 10), image('b', 10, 20)];
        let evictions = plan(quota(35), space, 10 * MIB, candidates).expect("room");
        assert_eq!(
            shas(&evictions),
            [('a', Reason::Quota)],
            "a was used longest ago"
        );
        let evictions = plan(
            quota(35),
            space,
            20 * MIB,
            vec![image('c', 10, 30), image('a', 10, 10), image('b', 10, 20)],
        )
        .expect("room");
        assert_eq!(
            shas(&evictions),
            [('a', Reason::Quota), ('b', Reason::Quota)]
        );
    }

    #[test]
    fn the_free_space_floor_evicts_for_its_own_reason() {
        let limits = Limits {
            max_bytes: Some(100 * MIB),
            min_free_bytes: 50 * MIB,
        };
        let space = Space {
            used: 30 * MIB,
            free: Some(55 * MIB),
        };
        let candidates = vec![image('a', 10, 1), image('b', 10, 2)];
        let evictions = plan(limits, space, 10 * MIB, candidates).expect("room");
        assert_eq!(shas(&evictions), [('a', Reason::FreeSpace)]);
    }

    #[test]
    fn when_nothing_evictable_is_enough_nothing_is_evicted() {
        let space = Space {
            used: 30 * MIB,
            free: Some(1 << 40),
        };
        // 10 MiB evictable, 20 held by pinned or read images: 25 more
        // cannot fit under 40.
        let shortfall = plan(quota(40), space, 25 * MIB, vec![image('a', 10, 1)]);
        assert_eq!(
            shortfall,
            Err(Shortfall::Quota {
                need: 25 * MIB,
                max: 40 * MIB,
                left: 20 * MIB
            })
        );
        let text = shortfall.expect_err("short").describe();
        assert!(text.contains("needs 25.0 MiB"), "{text}");
        assert!(text.contains("BTY_CACHE_MAX_BYTES = 40.0 MiB"), "{text}");
        assert!(text.contains("leaves 20.0 MiB"), "{text}");
        let floor = Limits {
            max_bytes: None,
            // Twice what is free: evicting 10 MiB cannot reach it.
            min_free_bytes: 2 << 40,
        };
        let short = plan(floor, space, MIB, vec![image('a', 10, 1)]).expect_err("short");
        assert!(matches!(short, Shortfall::FreeSpace { .. }), "{short:?}");
        assert!(short
            .describe()
            .contains("BTY_CACHE_MIN_FREE_BYTES keeps 2.0 TiB"));
    }
}
