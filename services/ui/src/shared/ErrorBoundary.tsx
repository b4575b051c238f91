import { Component, type ReactNode } from "react";

interface State {
  error: Error | null;
}

/** Catches a render error so the page shows what broke instead of going blank. */
export class ErrorBoundary extends Component<{ children: ReactNode }, State> {
  override state: State = { error: null };

  static getDerivedStateFromError(error: Error): State {
    return { error };
  }

  override render() {
    if (this.state.error) {
      return (
        <div role="alert" className="error-box page-error">
          <strong>This page failed:</strong> {this.state.error.message}
          <div>
            <button type="button" onClick={() => this.setState({ error: null })}>
              Try again
            </button>
          </div>
        </div>
      );
    }
    return this.props.children;
  }
}
