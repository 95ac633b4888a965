"""The `vidstyle` command: the top layer. Each module holds one stage's subcommands and imports that stage;
no stage imports this package. `common` has what every subcommand shares (the --config option, settings,
one-line errors)."""
