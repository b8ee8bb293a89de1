"""Table models: Qt's interface on one side, service records on the other."""
