from okd_release.cli.main import run

run()
