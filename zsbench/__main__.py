from zsbench.cli.main import main

main()
