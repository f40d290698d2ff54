package background_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/calimatic/calimatic-auth/adapters/internal/background"
)

func TestStartReturnsWhileTheTaskRuns(t *testing.T) {
	running, release := make(chan struct{}), make(chan struct{})
	task := background.New(func(ctx context.Context) {
		close(running)
		<-release
	})
	require.NoError(t, task.Start(context.Background()))
	<-running // the task runs although Start has returned
	close(release)
	require.NoError(t, task.Stop(context.Background()))
}

func TestTheTaskOutlivesTheStartContext(t *testing.T) {
	proceed, got := make(chan struct{}), make(chan error, 1)
	task := background.New(func(ctx context.Context) {
		<-proceed
		got <- ctx.Err()
	})
	startCtx, cancel := context.WithCancel(context.Background())
	require.NoError(t, task.Start(startCtx))
	cancel()
	close(proceed)
	assert.NoError(t, <-got, "the task's context ended with the start's")
	require.NoError(t, task.Stop(context.Background()))
}

func TestStopCancelsTheTaskAndWaitsForIt(t *testing.T) {
	returned := false
	task := background.New(func(ctx context.Context) {
		<-ctx.Done()
		returned = true
	})
	require.NoError(t, task.Start(context.Background()))
	require.NoError(t, task.Stop(context.Background()))
	assert.True(t, returned, "Stop returned before the task did")
}

func TestStopGivesUpWhenItsContextEnds(t *testing.T) {
	release := make(chan struct{})
	task := background.New(func(context.Context) { <-release }) // ignores cancellation
	require.NoError(t, task.Start(context.Background()))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, task.Stop(ctx), context.Canceled)
	close(release)
}
