-- 0004: the teams metrics were computed for, so a report needs no config to name them.
CREATE TABLE IF NOT EXISTS teams (
  team VARCHAR NOT NULL, instance VARCHAR NOT NULL, project_path VARCHAR NOT NULL,
  PRIMARY KEY (team, instance, project_path)
);
