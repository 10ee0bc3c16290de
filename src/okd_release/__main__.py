from okd_release.cli.main import main

main()
