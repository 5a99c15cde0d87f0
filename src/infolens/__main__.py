"""``python -m infolens`` runs the command line."""

from infolens.cli import main

if __name__ == "__main__":
    main()
