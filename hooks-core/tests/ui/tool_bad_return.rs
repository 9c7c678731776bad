use hooks_core::tool;

struct Weather {
    degrees: i32,
}

/// Weather.
#[tool]
fn weather(city: String) -> Weather {
    let _ = city;
    Weather { degrees: 20 }
}

fn main() {}
