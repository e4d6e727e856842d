from strategy_operator_dev.cli import main

raise SystemExit(main())
