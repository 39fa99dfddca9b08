//! Numbers on figures: four significant digits, superscripts and subscripts, and the tick
//! labels of linear, logarithmic and step axes ([`Ticks`]).

/// Format a value for a figure: four significant digits, scientific when tiny or huge.
pub fn fmt_sig(x: f64) -> String {
    let a = x.abs();
    if a == 0.0 {
        "0".to_owned()
    } else if !(1e-2..1e4).contains(&a) {
        let s = format!("{x:.2e}");
        // 1.23e-5 -> 1.23·10⁻⁵ reads better on a figure.
        match s.split_once('e') {
            Some((m, e)) => format!("{m}·10{}", superscript(e)),
            None => s,
        }
    } else {
        format!("{x:.3}")
    }
}

/// Unicode superscript of an integer string such as `-5`.
pub fn superscript(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '-' => '⁻',
            '0' => '⁰',
            '1' => '¹',
            '2' => '²',
            '3' => '³',
            '4' => '⁴',
            '5' => '⁵',
            '6' => '⁶',
            '7' => '⁷',
            '8' => '⁸',
            '9' => '⁹',
            other => other,
        })
        .collect()
}

/// Unicode subscript of a non-negative integer (`12` -> `₁₂`).
pub fn subscript(n: usize) -> String {
    n.to_string()
        .chars()
        .map(|c| match c.to_digit(10) {
            Some(d) => char::from_u32(0x2080 + d).unwrap_or(c),
            None => c,
        })
        .collect()
}

/// How an axis writes the value `v` of a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ticks {
    /// Exactly `n` decimals, as `format!("{v:.n}")` writes them (`n = 0` for steps and ranks).
    Fixed(usize),
    /// Whole numbers without decimals, others with `n` decimals, and a true minus sign
    /// (`−2`, `0.25`).
    Trimmed(usize),
    /// Four significant digits ([`fmt_sig`]) with a true minus sign.
    Significant,
    /// A log axis: powers of ten as `10⁻³` (within `1e-6` in the exponent), others by
    /// [`fmt_sig`].
    Log,
    /// Training steps on a log axis: `10`, `100`, `1k`, `30k` (thousands as `k`, trailing zeros
    /// dropped).
    Steps,
}

impl Ticks {
    /// The label of the tick at `v`.
    pub fn label(self, v: f64) -> String {
        match self {
            Self::Fixed(n) => format!("{v:.n$}"),
            Self::Trimmed(n) => {
                let s =
                    if (v - v.round()).abs() < 1e-9 { format!("{:.0}", v.round() + 0.0) } else { format!("{v:.n$}") };
                s.replace('-', "\u{2212}")
            }
            Self::Significant => fmt_sig(v).replace('-', "\u{2212}"),
            Self::Log => {
                let e = v.log10();
                if (e - e.round()).abs() < 1e-6 {
                    format!("10{}", superscript(&format!("{:.0}", e.round())))
                } else {
                    fmt_sig(v)
                }
            }
            Self::Steps => {
                let r = v.round();
                if r >= 1000.0 {
                    format!("{}k", fmt_sig(r / 1000.0).trim_end_matches('0').trim_end_matches('.'))
                } else {
                    format!("{r:.0}")
                }
            }
        }
    }
}
