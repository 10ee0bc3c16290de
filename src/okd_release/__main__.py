from okd_release.cli.program import run

run()
