"""Orders (指令, 三级联动): issued to units, signed for, escalated, reported back up."""
