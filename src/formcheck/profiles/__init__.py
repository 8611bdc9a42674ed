"""Exercise profiles shipped with formcheck (TOML): ``hip_thrust``, ``glute_bridge``."""
