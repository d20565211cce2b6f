import sys

from bot.classifier.cli import main

sys.exit(main())
