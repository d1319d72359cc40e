"""The four services of the platform and the `kpi` command that runs them."""
