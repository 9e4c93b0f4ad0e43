//! What a summary without requests says about the routes that do have requests, nearest by
//! name first, so a failing assertion points at the likely typo in a route.

use super::RouteStats;

impl RouteStats {
    /// Notes, for a summary without requests, what was asked for and which routes have
    /// requests, so a failing assertion can point at the likely typo.
    pub(crate) fn note_missing(&mut self, route: Option<&str>, routes: &[String]) {
        if self.count > 0 {
            return;
        }
        let message = if routes.is_empty() {
            "no route has recorded requests".to_owned()
        } else if let Some(route) = route.filter(|r| routes.iter().any(|known| known == r)) {
            format!(
                "route `{route}` has requests, but none that match; routes with requests: {}",
                list(routes)
            )
        } else {
            let mut by_distance: Vec<(usize, &String)> = routes
                .iter()
                .map(|known| (route.map_or(0, |r| edit_distance(r, known)), known))
                .collect();
            by_distance.sort();
            let mut message = format!("routes with requests: {}", list(routes));
            if let (Some(_), Some((_, nearest))) = (route, by_distance.first()) {
                message.push_str(&format!("; nearest by name: `{nearest}`"));
            }
            message
        };
        self.missing = Some(message);
    }
}

impl RouteStats {
    /// Notes, for a summary of `route` by `label` without requests, the values that label
    /// has on the route (`values`, empty when it has none there).
    pub(crate) fn note_missing_value(&mut self, route: &str, label: &str, values: &[String]) {
        if self.count > 0
            || self
                .missing
                .as_deref()
                .is_some_and(|m| !m.starts_with("route `"))
        {
            return;
        }
        self.missing = Some(if values.is_empty() {
            format!("route `{route}` has requests, but none with a label `{label}`")
        } else {
            format!(
                "route `{route}` has requests, but none with `{label}` of that value; its values there: {}",
                list(values)
            )
        });
    }
}

/// Routes as a short list: all if few, else the first ones and how many more.
fn list(routes: &[String]) -> String {
    const SHOWN: usize = 20;
    let shown: Vec<String> = routes
        .iter()
        .take(SHOWN)
        .map(|r| format!("`{r}`"))
        .collect();
    let mut out = shown.join(", ");
    if routes.len() > SHOWN {
        out.push_str(&format!(" and {} more", routes.len() - SHOWN));
    }
    out
}

/// The Levenshtein distance between two strings, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("/api/v1/user/{id}", "/api/v1/users/{id}"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("é", "e"), 1);
    }
}
