"""`cityops simulate cases`: a labelled-synthetic district feeding the real intake paths."""
