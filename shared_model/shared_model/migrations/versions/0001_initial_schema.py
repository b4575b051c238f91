"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 04:27:24.454307
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('app_user',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('role', sa.Enum('ADMIN', 'ENGINEER', 'EXPERT', 'ANNOTATOR', name='userrole', native_enum=False, length=40), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
    sa.UniqueConstraint('email', name=op.f('uq_app_user_email'))
    )
    op.create_table('api_token',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_api_token_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    op.create_index(op.f('ix_api_token_user_id'), 'api_token', ['user_id'], unique=False)
    op.create_table('project',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('tokenizer', sa.String(length=100), nullable=False),
    sa.Column('status', sa.Enum('INIT_UPLOAD', 'IN_DELETION', 'READY', name='projectstatus', native_enum=False, length=40), nullable=False),
    sa.Column('settings', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('created_by', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], name=op.f('fk_project_created_by_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project'))
    )
    op.create_table('user_session',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_user_session_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_session')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_session_token_hash'))
    )
    op.create_index(op.f('ix_user_session_user_id'), 'user_session', ['user_id'], unique=False)
    op.create_table('attribute',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('project_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('data_type', sa.Enum('INTEGER', 'FLOAT', 'BOOLEAN', 'CATEGORY', 'TEXT', 'EMBEDDING_LIST', name='datatype', native_enum=False, length=40), nullable=False),
    sa.Column('is_primary_key', sa.Boolean(), nullable=False),
    sa.Column('relative_position', sa.Integer(), nullable=False),
    sa.Column('user_created', sa.Boolean(), nullable=False),
    sa.Column('source_code', sa.Text(), nullable=True),
    sa.Column('state', sa.Enum('UPLOADED', 'AUTOMATICALLY_CREATED', 'INITIAL', 'RUNNING', 'USABLE', 'FAILED', name='attributestate', native_enum=False, length=40), nullable=False),
    sa.Column('visibility', sa.Enum('HIDE', 'HIDE_ON_LABELING_PAGE', 'HIDE_ON_DATA_BROWSER', 'DO_NOT_HIDE', name='attributevisibility', native_enum=False, length=40), nullable=False),
    sa.Column('logs', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_attribute_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attribute')),
    sa.UniqueConstraint('project_id', 'name', name=op.f('uq_attribute_project_id'))
    )
    op.create_table('comment',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('project_id', sa.UUID(), nullable=False),
    sa.Column('target_type', sa.Enum('RECORD', 'LABELING_TASK', 'LABEL', 'HEURISTIC', 'DATA_SLICE', 'LOOKUP_LIST', name='commenttarget', native_enum=False, length=40), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('is_private', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], name=op.f('fk_comment_created_by_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_comment_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_comment'))
    )
    op.create_index('ix_comment_target', 'comment', ['project_id', 'target_type', 'target_id'], unique=False)
    op.create_table('data_slice',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('project_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('filter', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('type', sa.Enum('STATIC_DEFAULT', 'STATIC_OUTLIER', 'DYNAMIC_DEFAULT', name='slicetype', native_enum=False, length=40), nullable=False),
    sa.Column('info', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('created_by', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], name=op.f('fk_data_slice_created_by_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_data_slice_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_slice')),
    sa.UniqueConstraint('project_id', 'name', name=op.f('uq_data_slice_project_id'))
    )
    op.create_table('job',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('kind', sa.String(length=100), nullable=False),
    sa.Column('project_id', sa.UUID(), nullable=True),
    sa.Column('owner_service', sa.String(length=50), nullable=False),
    sa.Column('parameters', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('state', sa.Enum('queued', 'running', 'done', 'failed', 'cancelled', name='jobstate', native_enum=False, length=40), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('result', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('worker', sa.String(length=200), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.UUID(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], name=op.f('fk_job_created_by_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_job_project_id_project'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job'))
    )
    op.create_index('ix_job_claim', 'job', ['owner_service', 'state', 'created_at'], unique=False)
    op.create_index('ix_job_project', 'job', ['project_id', 'created_at'], unique=False)
    op.create_table('project_member',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('project_id', sa.UUID(), nullable=False),
    sa.Column('user_id', sa.UUID(), nullable=False),
    sa.Column('role', sa.Enum('ADMIN', 'ENGINEER', 'EXPERT', 'ANNOTATOR', name='userrole', native_enum=False, length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_project_member_project_id_project'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_project_member_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_member')),
    sa.UniqueConstraint('project_id', 'user_id', name=op.f('uq_project_member_project_id'))
    )
    op.create_index(op.f('ix_project_member_user_id'), 'project_member', ['user_id'], unique=False)
    op.create_table('record',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('project_id', sa.UUID(), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_record_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record'))
    )
    op.create_index('ix_record_project_id_id', 'record', ['project_id', 'id'], unique=False)
    op.create_table('data_slice_record',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('data_slice_id', sa.UUID(), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=False),
    sa.Column('outlier_score', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['data_slice_id'], ['data_slice.id'], name=op.f('fk_data_slice_record_data_slice_id_data_slice'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], name=op.f('fk_data_slice_record_record_id_record'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_slice_record')),
    sa.UniqueConstraint('data_slice_id', 'record_id', name=op.f('uq_data_slice_record_data_slice_id'))
    )
    op.create_index(op.f('ix_data_slice_record_record_id'), 'data_slice_record', ['record_id'], unique=False)
    op.create_table('embedding',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('project_id', sa.UUID(), nullable=False),
    sa.Column('attribute_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('type', sa.Enum('ON_ATTRIBUTE', 'ON_TOKEN', name='embeddingtype', native_enum=False, length=40), nullable=False),
    sa.Column('state', sa.Enum('QUEUED', 'RUNNING', 'FINISHED', 'FAILED', 'CANCELLED', name='runstate', native_enum=False, length=40), nullable=False),
    sa.Column('model', sa.String(length=300), nullable=False),
    sa.Column('platform', sa.String(length=50), nullable=False),
    sa.Column('dimensions', sa.BigInteger(), nullable=True),
    sa.Column('settings', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('filter_attributes', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('similarity_threshold', sa.Float(), nullable=True),
    sa.Column('storage_key', sa.String(length=500), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['attribute_id'], ['attribute.id'], name=op.f('fk_embedding_attribute_id_attribute'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_embedding_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_embedding')),
    sa.UniqueConstraint('project_id', 'name', name=op.f('uq_embedding_project_id'))
    )
    op.create_index(op.f('ix_embedding_attribute_id'), 'embedding', ['attribute_id'], unique=False)
    op.create_table('labeling_task',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('project_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('attribute_id', sa.UUID(), nullable=True),
    sa.Column('task_target', sa.Enum('ON_ATTRIBUTE', 'ON_WHOLE_RECORD', name='tasktarget', native_enum=False, length=40), nullable=False),
    sa.Column('task_type', sa.Enum('MULTICLASS_CLASSIFICATION', 'MULTILABEL_CLASSIFICATION', 'INFORMATION_EXTRACTION', name='tasktype', native_enum=False, length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['attribute_id'], ['attribute.id'], name=op.f('fk_labeling_task_attribute_id_attribute'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_labeling_task_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_labeling_task')),
    sa.UniqueConstraint('project_id', 'name', name=op.f('uq_labeling_task_project_id'))
    )
    op.create_index(op.f('ix_labeling_task_attribute_id'), 'labeling_task', ['attribute_id'], unique=False)
    op.create_table('record_tokenized',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('project_id', sa.UUID(), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=False),
    sa.Column('columns', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('bytes', sa.LargeBinary(), nullable=False),
    sa.Column('tokenizer', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_record_tokenized_project_id_project'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], name=op.f('fk_record_tokenized_record_id_record'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_tokenized')),
    sa.UniqueConstraint('record_id', name=op.f('uq_record_tokenized_record_id'))
    )
    op.create_index(op.f('ix_record_tokenized_project_id'), 'record_tokenized', ['project_id'], unique=False)
    op.create_table('information_source',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('project_id', sa.UUID(), nullable=False),
    sa.Column('labeling_task_id', sa.UUID(), nullable=False),
    sa.Column('type', sa.Enum('LABELING_FUNCTION', 'ACTIVE_LEARNING', 'PRE_COMPUTED', 'ZERO_SHOT', 'CROWD_LABELER', name='heuristictype', native_enum=False, length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('source_code', sa.Text(), nullable=False),
    sa.Column('config', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('is_selected', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], name=op.f('fk_information_source_created_by_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['labeling_task_id'], ['labeling_task.id'], name=op.f('fk_information_source_labeling_task_id_labeling_task'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_information_source_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_information_source')),
    sa.UniqueConstraint('project_id', 'name', name=op.f('uq_information_source_project_id'))
    )
    op.create_index(op.f('ix_information_source_labeling_task_id'), 'information_source', ['labeling_task_id'], unique=False)
    op.create_table('label',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('project_id', sa.UUID(), nullable=False),
    sa.Column('labeling_task_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('color', sa.String(length=32), nullable=False),
    sa.Column('hotkey', sa.String(length=1), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['labeling_task_id'], ['labeling_task.id'], name=op.f('fk_label_labeling_task_id_labeling_task'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_label_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label')),
    sa.UniqueConstraint('labeling_task_id', 'name', name=op.f('uq_label_labeling_task_id'))
    )
    op.create_index(op.f('ix_label_project_id'), 'label', ['project_id'], unique=False)
    op.create_table('weak_supervision_run',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('project_id', sa.UUID(), nullable=False),
    sa.Column('labeling_task_id', sa.UUID(), nullable=True),
    sa.Column('job_id', sa.UUID(), nullable=True),
    sa.Column('state', sa.Enum('QUEUED', 'RUNNING', 'FINISHED', 'FAILED', 'CANCELLED', name='runstate', native_enum=False, length=40), nullable=False),
    sa.Column('options', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('summary', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by', sa.UUID(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], name=op.f('fk_weak_supervision_run_created_by_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], name=op.f('fk_weak_supervision_run_job_id_job'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['labeling_task_id'], ['labeling_task.id'], name=op.f('fk_weak_supervision_run_labeling_task_id_labeling_task'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_weak_supervision_run_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_weak_supervision_run'))
    )
    op.create_index(op.f('ix_weak_supervision_run_project_id'), 'weak_supervision_run', ['project_id'], unique=False)
    op.create_table('heuristic_run',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('project_id', sa.UUID(), nullable=False),
    sa.Column('source_id', sa.UUID(), nullable=False),
    sa.Column('job_id', sa.UUID(), nullable=True),
    sa.Column('state', sa.Enum('QUEUED', 'RUNNING', 'FINISHED', 'FAILED', 'CANCELLED', name='runstate', native_enum=False, length=40), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('source_code', sa.Text(), nullable=False),
    sa.Column('logs', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('details', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('created_by', sa.UUID(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], name=op.f('fk_heuristic_run_created_by_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], name=op.f('fk_heuristic_run_job_id_job'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_heuristic_run_project_id_project'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['information_source.id'], name=op.f('fk_heuristic_run_source_id_information_source'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_heuristic_run'))
    )
    op.create_index(op.f('ix_heuristic_run_project_id'), 'heuristic_run', ['project_id'], unique=False)
    op.create_index(op.f('ix_heuristic_run_source_id'), 'heuristic_run', ['source_id'], unique=False)
    op.create_table('heuristic_statistics',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('project_id', sa.UUID(), nullable=False),
    sa.Column('source_id', sa.UUID(), nullable=False),
    sa.Column('label_id', sa.UUID(), nullable=False),
    sa.Column('true_positives', sa.Integer(), nullable=False),
    sa.Column('false_positives', sa.Integer(), nullable=False),
    sa.Column('false_negatives', sa.Integer(), nullable=False),
    sa.Column('record_coverage', sa.Integer(), nullable=False),
    sa.Column('total_hits', sa.Integer(), nullable=False),
    sa.Column('source_conflicts', sa.Integer(), nullable=False),
    sa.Column('source_overlaps', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['label_id'], ['label.id'], name=op.f('fk_heuristic_statistics_label_id_label'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_heuristic_statistics_project_id_project'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['information_source.id'], name=op.f('fk_heuristic_statistics_source_id_information_source'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_heuristic_statistics')),
    sa.UniqueConstraint('source_id', 'label_id', name=op.f('uq_heuristic_statistics_source_id'))
    )
    op.create_index(op.f('ix_heuristic_statistics_project_id'), 'heuristic_statistics', ['project_id'], unique=False)
    op.create_table('lookup_list',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('project_id', sa.UUID(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('python_name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('label_id', sa.UUID(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['label_id'], ['label.id'], name=op.f('fk_lookup_list_label_id_label'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_lookup_list_project_id_project'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lookup_list')),
    sa.UniqueConstraint('project_id', 'name', name=op.f('uq_lookup_list_project_id'))
    )
    op.create_table('record_label_association',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('project_id', sa.UUID(), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=False),
    sa.Column('labeling_task_id', sa.UUID(), nullable=False),
    sa.Column('label_id', sa.UUID(), nullable=False),
    sa.Column('source_type', sa.Enum('MANUAL', 'INFORMATION_SOURCE', 'WEAK_SUPERVISION', 'MODEL_CALLBACK', name='sourcetype', native_enum=False, length=40), nullable=False),
    sa.Column('source_id', sa.UUID(), nullable=True),
    sa.Column('return_type', sa.Enum('RETURN', 'YIELD', name='returntype', native_enum=False, length=40), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('created_by', sa.UUID(), nullable=True),
    sa.Column('is_gold_star', sa.Boolean(), nullable=False),
    sa.Column('is_valid_manual_label', sa.Boolean(), nullable=False),
    sa.Column('token_start', sa.Integer(), nullable=True),
    sa.Column('token_end', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('token_start IS NULL OR (token_start >= 0 AND token_end > token_start)', name=op.f('ck_record_label_association_span_range')),
    sa.ForeignKeyConstraint(['created_by'], ['app_user.id'], name=op.f('fk_record_label_association_created_by_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['label_id'], ['label.id'], name=op.f('fk_record_label_association_label_id_label'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['labeling_task_id'], ['labeling_task.id'], name=op.f('fk_record_label_association_labeling_task_id_labeling_task'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_record_label_association_project_id_project'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['record_id'], ['record.id'], name=op.f('fk_record_label_association_record_id_record'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['information_source.id'], name=op.f('fk_record_label_association_source_id_information_source'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_label_association'))
    )
    op.create_index(op.f('ix_record_label_association_label_id'), 'record_label_association', ['label_id'], unique=False)
    op.create_index(op.f('ix_record_label_association_project_id'), 'record_label_association', ['project_id'], unique=False)
    op.create_index('ix_rla_record_task', 'record_label_association', ['record_id', 'labeling_task_id'], unique=False)
    op.create_index('ix_rla_task_source', 'record_label_association', ['labeling_task_id', 'source_type', 'source_id'], unique=False)
    op.create_index('ix_rla_valid_manual', 'record_label_association', ['labeling_task_id', 'record_id'], unique=False, postgresql_where='is_valid_manual_label')
    op.create_table('lookup_term',
    sa.Column('id', sa.UUID(), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('lookup_list_id', sa.UUID(), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('blacklisted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['lookup_list_id'], ['lookup_list.id'], name=op.f('fk_lookup_term_lookup_list_id_lookup_list'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lookup_term')),
    sa.UniqueConstraint('lookup_list_id', 'value', name=op.f('uq_lookup_term_lookup_list_id'))
    )


def downgrade() -> None:
    op.drop_table('lookup_term')
    op.drop_index('ix_rla_valid_manual', table_name='record_label_association', postgresql_where='is_valid_manual_label')
    op.drop_index('ix_rla_task_source', table_name='record_label_association')
    op.drop_index('ix_rla_record_task', table_name='record_label_association')
    op.drop_index(op.f('ix_record_label_association_project_id'), table_name='record_label_association')
    op.drop_index(op.f('ix_record_label_association_label_id'), table_name='record_label_association')
    op.drop_table('record_label_association')
    op.drop_table('lookup_list')
    op.drop_index(op.f('ix_heuristic_statistics_project_id'), table_name='heuristic_statistics')
    op.drop_table('heuristic_statistics')
    op.drop_index(op.f('ix_heuristic_run_source_id'), table_name='heuristic_run')
    op.drop_index(op.f('ix_heuristic_run_project_id'), table_name='heuristic_run')
    op.drop_table('heuristic_run')
    op.drop_index(op.f('ix_weak_supervision_run_project_id'), table_name='weak_supervision_run')
    op.drop_table('weak_supervision_run')
    op.drop_index(op.f('ix_label_project_id'), table_name='label')
    op.drop_table('label')
    op.drop_index(op.f('ix_information_source_labeling_task_id'), table_name='information_source')
    op.drop_table('information_source')
    op.drop_index(op.f('ix_record_tokenized_project_id'), table_name='record_tokenized')
    op.drop_table('record_tokenized')
    op.drop_index(op.f('ix_labeling_task_attribute_id'), table_name='labeling_task')
    op.drop_table('labeling_task')
    op.drop_index(op.f('ix_embedding_attribute_id'), table_name='embedding')
    op.drop_table('embedding')
    op.drop_index(op.f('ix_data_slice_record_record_id'), table_name='data_slice_record')
    op.drop_table('data_slice_record')
    op.drop_index('ix_record_project_id_id', table_name='record')
    op.drop_table('record')
    op.drop_index(op.f('ix_project_member_user_id'), table_name='project_member')
    op.drop_table('project_member')
    op.drop_index('ix_job_project', table_name='job')
    op.drop_index('ix_job_claim', table_name='job')
    op.drop_table('job')
    op.drop_table('data_slice')
    op.drop_index('ix_comment_target', table_name='comment')
    op.drop_table('comment')
    op.drop_table('attribute')
    op.drop_index(op.f('ix_user_session_user_id'), table_name='user_session')
    op.drop_table('user_session')
    op.drop_table('project')
    op.drop_index(op.f('ix_api_token_user_id'), table_name='api_token')
    op.drop_table('api_token')
    op.drop_table('app_user')
