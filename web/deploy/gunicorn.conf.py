"""gunicorn settings for running the hall with gunicorn's own command instead of
`hpf serve --production` (same settings, same HPF_* environment variables):

    hpf init-db && hpf deploy
    gunicorn -c web/deploy/gunicorn.conf.py 'web.serving:wsgi()'
"""

from web.serving import prepare_metrics_dir, settings

prepare_metrics_dir()
globals().update(settings())
