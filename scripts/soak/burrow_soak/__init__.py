"""Burrow's soak test (scripts/soak.sh runs it): many connections with constant churn through a
tcp proxy, an http proxy and a visitor, every byte checked, and each Burrow process's memory,
descriptors and threads compared before and after."""
