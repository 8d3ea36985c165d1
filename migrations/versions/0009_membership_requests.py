"""membership requests: an existing account invited by a member admin waits for the syndicate

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-03 17:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('membership_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('membership_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_membership_request_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_membership_request_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_membership_request_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('membership_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_membership_request_user_id'))
        batch_op.drop_index(batch_op.f('ix_membership_request_status'))
        batch_op.drop_index(batch_op.f('ix_membership_request_member_id'))

    op.drop_table('membership_request')
