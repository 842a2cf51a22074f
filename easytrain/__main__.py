from easytrain.cli import main

main()
