"""Signal receivers, connected from AppConfig.ready()."""
