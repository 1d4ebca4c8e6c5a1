//! The four resource flags shown in the `MDOE` column of `print status`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Per-resource flags, rendered as the seed's 4-character column (`....` when none is set).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flags {
    /// `M`: a failure of this resource triggers the monitor action.
    pub monitored: bool,
    /// `D`: the resource is disabled on this node.
    pub disabled: bool,
    /// `O`: a failure of this resource does not fail the action.
    pub optional: bool,
    /// `E`: the resource lives inside a container (encapsulated).
    pub encap: bool,
}

impl Flags {
    /// The 4-character `MDOE` column, `.` for each unset flag.
    pub fn render(&self) -> String {
        [
            (self.monitored, 'M'),
            (self.disabled, 'D'),
            (self.optional, 'O'),
            (self.encap, 'E'),
        ]
        .iter()
        .map(|&(set, c)| if set { c } else { '.' })
        .collect()
    }

    /// Parses the 4-character column back (the JSON form); `None` unless exactly `[M.][D.][O.][E.]`.
    pub fn parse(s: &str) -> Option<Flags> {
        let chars: Vec<char> = s.chars().collect();
        let [m, d, o, e] = chars.as_slice() else {
            return None;
        };
        let bit = |got: char, letter: char| match got {
            '.' => Some(false),
            c if c == letter => Some(true),
            _ => None,
        };
        Some(Flags {
            monitored: bit(*m, 'M')?,
            disabled: bit(*d, 'D')?,
            optional: bit(*o, 'O')?,
            encap: bit(*e, 'E')?,
        })
    }
}

impl Serialize for Flags {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.render())
    }
}

impl<'de> Deserialize<'de> for Flags {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Flags::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!("bad flags {text:?}, want [M.][D.][O.][E.]"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_mdoe_with_dots() {
        assert_eq!(Flags::default().render(), "....");
        let all = Flags {
            monitored: true,
            disabled: true,
            optional: true,
            encap: true,
        };
        assert_eq!(all.render(), "MDOE");
        let some = Flags {
            disabled: true,
            encap: true,
            ..Flags::default()
        };
        assert_eq!(some.render(), ".D.E");
    }

    #[test]
    fn parse_is_the_inverse_of_render() {
        for bits in 0u8..16 {
            let f = Flags {
                monitored: bits & 1 != 0,
                disabled: bits & 2 != 0,
                optional: bits & 4 != 0,
                encap: bits & 8 != 0,
            };
            assert_eq!(Flags::parse(&f.render()), Some(f));
        }
        assert_eq!(Flags::parse("..."), None);
        assert_eq!(Flags::parse("D..."), None);
        assert_eq!(Flags::parse("....."), None);
    }
}
