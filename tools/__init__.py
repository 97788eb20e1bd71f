"""Developer tooling kept out of the installed package: generated docs (docsgen) and peer cross-checks (crosscheck)."""
