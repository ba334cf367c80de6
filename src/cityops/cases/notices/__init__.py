"""Case notices to people: WeCom and official-account notices, and the citizens who follow a case."""
