from metropilot.cli.main import run

run()
