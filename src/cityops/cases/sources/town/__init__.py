"""Town self-built dispatch systems (街镇自建系统): reports and the changes feed."""
