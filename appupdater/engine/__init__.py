"""Background work with Qt core only (QObject, QThreadPool, QTimer); never imports widgets."""
