"""The manifest of backup and recovery (`cityops backup ARCHIVE`, `cityops restore ARCHIVE`)."""

from cityops.kit.module import Command, Module

module = Module(
    name="backup",
    title="备份与恢复",
    requires=("auth",),
    commands=(
        Command("backup", "cityops.backup.cli:backup_app"),
        Command("restore", "cityops.backup.cli:restore_app"),
    ),
)
